package jsonxlate

import "testing"

func TestChatStatesToJSON(t *testing.T) {
	testToJSON(t, []toJSONTest{
		{"chat state", `<message><gone` + csNS + `/></message>`, `{"kind":"message","chat_state":"gone"}`},

		// What does not fit stays in payload, in the generic form.
		{"second chat state", `<message><active` + csNS + `/><composing` + csNS + `/></message>`,
			`{"kind":"message","chat_state":"active","payload":[{"name":"composing","xmlns":"http://jabber.org/protocol/chatstates"}]}`},
		{"unknown chat state", `<message><typing` + csNS + `/></message>`,
			`{"kind":"message","payload":[{"name":"typing","xmlns":"http://jabber.org/protocol/chatstates"}]}`},
		{"chat state with content", `<message><active` + csNS + `> </active></message>`,
			`{"kind":"message","payload":[{"name":"active","xmlns":"http://jabber.org/protocol/chatstates","children":[" "]}]}`},
	})
}

func TestChatStatesToXMLErrors(t *testing.T) {
	testToXMLErrors(t, []toXMLErrorTest{
		{"chat state", `{"kind":"message","chat_state":"typing"}`, CodeBadValue, "chat_state"},
	})
}
