package jsonxlate

import "testing"

func TestCarbonsToJSON(t *testing.T) {
	testToJSON(t, []toJSONTest{
		{"carbon sent", `<message><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client' to='x'><body>b</body></message></forwarded></sent></message>`,
			`{"kind":"message","carbon":{"direction":"sent","message":{"kind":"message","to":"x","body":"b"}}}`},
		{"carbon with delay", `<message><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='s'/><message xmlns='jabber:client'/></forwarded></received></message>`,
			`{"kind":"message","carbon":{"direction":"received","message":{"kind":"message"},"delay":{"stamp":"s"}}}`},
		{"carbon message out of order", `<message><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'><request xmlns='urn:xmpp:receipts'/><body>b</body></message></forwarded></sent><x xmlns='u'/></message>`,
			`{"kind":"message","carbon":{"direction":"sent","message":{"kind":"message","body":"b","receipt_request":true,"order":["receipt_request","body"]}},"payload":[{"name":"x","xmlns":"u"}]}`},

		// What does not fit stays in payload, in the generic form.
		{"carbon without forwarded", `<message><sent xmlns='urn:xmpp:carbons:2'/></message>`,
			`{"kind":"message","payload":[{"name":"sent","xmlns":"urn:xmpp:carbons:2"}]}`},
		{"carbon of a message in another namespace", `<message><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:server'/></forwarded></sent></message>`,
			`{"kind":"message","payload":[{"name":"sent","xmlns":"urn:xmpp:carbons:2","children":[{"name":"forwarded","xmlns":"urn:xmpp:forward:0","children":[{"name":"message","xmlns":"jabber:server"}]}]}]}`},
	})
}

func TestCarbonsToXML(t *testing.T) {
	testToXML(t, []toXMLTest{
		{"order of a carbon's message", `{"kind":"message","carbon":{"direction":"sent","message":{"thread":"t","thread_parent":"p","payload":[{"name":"x"}],"order":["payload[0]","thread"]}},"payload":[{"name":"y"}],"order":["payload[0]","carbon"]}`,
			`<message xmlns='jabber:client'><y/><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'><x/><thread parent='p'>t</thread></message></forwarded></sent></message>`},
		{"carbon with delay", `{"kind":"message","carbon":{"direction":"received","delay":{"stamp":"s"},"message":{"kind":"message","id":"i"}}}`,
			`<message xmlns='jabber:client'><received xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><delay xmlns='urn:xmpp:delay' stamp='s'/><message xmlns='jabber:client' id='i'/></forwarded></received></message>`},
	})
}

func TestCarbonsToXMLErrors(t *testing.T) {
	testToXMLErrors(t, []toXMLErrorTest{
		{"missing direction", `{"kind":"message","carbon":{"message":{}}}`, CodeMissingField, "carbon.direction"},
		{"missing carbon message", `{"kind":"message","carbon":{"direction":"sent"}}`, CodeMissingField, "carbon.message"},
		{"direction", `{"kind":"message","carbon":{"direction":"up","message":{}}}`, CodeBadValue, "carbon.direction"},
		{"carbon message kind", `{"kind":"message","carbon":{"direction":"sent","message":{"kind":"iq"}}}`, CodeBadValue, "carbon.message.kind"},
	})
}
