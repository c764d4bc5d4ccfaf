package jsonxlate

import "testing"

func TestDelayToJSON(t *testing.T) {
	testToJSON(t, []toJSONTest{
		{"delay", `<message><delay xmlns='urn:xmpp:delay' stamp='2002-09-10T23:08:25Z' from='x'>why</delay></message>`,
			`{"kind":"message","delay":{"stamp":"2002-09-10T23:08:25Z","from":"x","text":"why"}}`},
		{"delay, stamp only", `<message><delay xmlns='urn:xmpp:delay' stamp='s'/></message>`, `{"kind":"message","delay":{"stamp":"s"}}`},

		// What does not fit stays in payload, in the generic form.
		{"second delay", `<presence><delay xmlns='urn:xmpp:delay' stamp='1'/><delay xmlns='urn:xmpp:delay' stamp='2'/></presence>`,
			`{"kind":"presence","delay":{"stamp":"1"},"payload":[{"name":"delay","xmlns":"urn:xmpp:delay","attrs":{"stamp":"2"}}]}`},
		{"delay without stamp", `<message><delay xmlns='urn:xmpp:delay' from='x'/></message>`,
			`{"kind":"message","payload":[{"name":"delay","xmlns":"urn:xmpp:delay","attrs":{"from":"x"}}]}`},
		{"delay in an iq", `<iq><delay xmlns='urn:xmpp:delay' stamp='s'/></iq>`,
			`{"kind":"iq","payload":[{"name":"delay","xmlns":"urn:xmpp:delay","attrs":{"stamp":"s"}}]}`},
	})
}

func TestDelayToXMLErrors(t *testing.T) {
	testToXMLErrors(t, []toXMLErrorTest{
		{"missing stamp", `{"kind":"message","delay":{"from":"x"}}`, CodeMissingField, "delay.stamp"},
	})
}
