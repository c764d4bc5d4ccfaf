package jsonxlate

import "testing"

func TestPresenceToJSON(t *testing.T) {
	testToJSON(t, []toJSONTest{
		{"show status priority", `<presence><show>chat</show><status>s</status><status xml:lang='de'>d</status><priority>-128</priority></presence>`,
			`{"kind":"presence","show":"chat","status":"s","statuses":[{"lang":"de","text":"d"}],"priority":-128}`},
		{"presence delay and error", `<presence type='error'><delay xmlns='urn:xmpp:delay' stamp='s'/><error type='cancel'><gone` + errNS + `/></error></presence>`,
			`{"kind":"presence","type":"error","delay":{"stamp":"s"},"error":{"type":"cancel","condition":"gone"}}`},

		// What does not fit stays in payload, in the generic form.
		{"show that is not one of four", `<presence><show>online</show></presence>`,
			`{"kind":"presence","payload":[{"name":"show","children":["online"]}]}`},
		{"priority out of range", `<presence><priority>128</priority></presence>`,
			`{"kind":"presence","payload":[{"name":"priority","children":["128"]}]}`},
		{"priority not as JSON writes it", `<presence><priority>01</priority></presence>`,
			`{"kind":"presence","payload":[{"name":"priority","children":["01"]}]}`},
	})
}

func TestPresenceToXML(t *testing.T) {
	testToXML(t, []toXMLTest{
		{"presence fields", `{"kind":"presence","error":{"type":"cancel","condition":"gone","text":"t","text_lang":"en","by":"b","code":"302","app":{"name":"a","xmlns":"urn:a"}},"delay":{"stamp":"s"},"priority":-5,"statuses":[{"lang":"de","text":"weg"}],"status":"away","show":"xa"}`,
			`<presence xmlns='jabber:client'><show>xa</show><status>away</status><status xml:lang='de'>weg</status><priority>-5</priority><delay xmlns='urn:xmpp:delay' stamp='s'/><error type='cancel' by='b' code='302'><gone xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>t</text><a xmlns='urn:a'/></error></presence>`},
		{"priority written as a float", `{"kind":"presence","priority":5.0}`, `<presence xmlns='jabber:client'><priority>5</priority></presence>`},
	})
}

func TestPresenceToXMLErrors(t *testing.T) {
	testToXMLErrors(t, []toXMLErrorTest{
		{"show", `{"kind":"presence","show":"online"}`, CodeBadValue, "show"},
		{"priority out of range", `{"kind":"presence","priority":128}`, CodeBadValue, "priority"},
		{"priority not an integer", `{"kind":"presence","priority":1.5}`, CodeBadValue, "priority"},
	})
}
