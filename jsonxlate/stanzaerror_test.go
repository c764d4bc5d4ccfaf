package jsonxlate

import "testing"

func TestStanzaErrorToJSON(t *testing.T) {
	testToJSON(t, []toJSONTest{
		{"error", `<message type='error'><error type='cancel' by='x' code='503'><service-unavailable` + errNS + `/><text` + errNS + ` xml:lang='en'>t</text><app xmlns='urn:app' a='1'/></error></message>`,
			`{"kind":"message","type":"error","error":{"type":"cancel","condition":"service-unavailable","text":"t","text_lang":"en","by":"x","code":"503","app":{"name":"app","xmlns":"urn:app","attrs":{"a":"1"}}}}`},
		{"error, condition only", `<iq type='error'><error><bad-request` + errNS + `/></error></iq>`,
			`{"kind":"iq","type":"error","error":{"condition":"bad-request"}}`},
		{"error text without lang", `<iq><error type='wait'><x` + errNS + `/><text` + errNS + `/></error></iq>`,
			`{"kind":"iq","error":{"type":"wait","condition":"x","text":""}}`},

		// What does not fit stays in payload, in the generic form.
		{"error with a condition's text", `<iq><error type='cancel'><gone` + errNS + `>xmpp:x</gone></error></iq>`,
			`{"kind":"iq","payload":[{"name":"error","attrs":{"type":"cancel"},"children":[{"name":"gone","xmlns":"urn:ietf:params:xml:ns:xmpp-stanzas","children":["xmpp:x"]}]}]}`},
		{"error without condition", `<iq><error type='cancel'/></iq>`,
			`{"kind":"iq","payload":[{"name":"error","attrs":{"type":"cancel"}}]}`},
		{"error with two app conditions", `<iq><error><x` + errNS + `/><a xmlns='u'/><b xmlns='u'/></error></iq>`,
			`{"kind":"iq","payload":[{"name":"error","children":[{"name":"x","xmlns":"urn:ietf:params:xml:ns:xmpp-stanzas"},{"name":"a","xmlns":"u"},{"name":"b","xmlns":"u"}]}]}`},
	})
}

func TestStanzaErrorToXMLErrors(t *testing.T) {
	testToXMLErrors(t, []toXMLErrorTest{
		{"missing condition", `{"kind":"iq","error":{"type":"cancel"}}`, CodeMissingField, "error.condition"},
		{"text_lang without text", `{"kind":"iq","error":{"condition":"x","text_lang":"en"}}`, CodeMissingField, "error.text"},
		{"condition text", `{"kind":"iq","error":{"condition":"text"}}`, CodeBadValue, "error.condition"},
		{"app in the stanzas namespace", `{"kind":"iq","error":{"condition":"x","app":{"name":"y","xmlns":"urn:ietf:params:xml:ns:xmpp-stanzas"}}}`, CodeBadValue, "error.app.xmlns"},
	})
}
