package jsonxlate

import "testing"

func TestMessageToJSON(t *testing.T) {
	testToJSON(t, []toJSONTest{
		{"body", `<message><body>hi</body></message>`, `{"kind":"message","body":"hi"}`},
		{"empty body", `<message><body/></message>`, `{"kind":"message","body":""}`},
		{"bodies", `<message><body>hi</body><body xml:lang='de'>hallo</body><body xml:lang='fr'>salut</body></message>`,
			`{"kind":"message","body":"hi","bodies":[{"lang":"de","text":"hallo"},{"lang":"fr","text":"salut"}]}`},
		{"subject and subjects", `<message><subject>s</subject><subject xml:lang='cs'>t</subject><body>b</body></message>`,
			`{"kind":"message","subject":"s","subjects":[{"lang":"cs","text":"t"}],"body":"b"}`},
		{"thread", `<message><thread>t1</thread></message>`, `{"kind":"message","thread":"t1"}`},
		{"thread parent", `<message><thread parent='p'>t1</thread></message>`, `{"kind":"message","thread":"t1","thread_parent":"p"}`},
		{"all message fields in order", `<message><subject>s</subject><body>b</body><thread>t</thread><active` + csNS + `/><request xmlns='urn:xmpp:receipts'/><received xmlns='urn:xmpp:receipts' id='i'/><delay xmlns='urn:xmpp:delay' stamp='s'/><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'/></forwarded></sent><error><x` + errNS + `/></error><z xmlns='urn:z'/></message>`,
			`{"kind":"message","subject":"s","body":"b","thread":"t","chat_state":"active","receipt_request":true,"received":"i","delay":{"stamp":"s"},"carbon":{"direction":"sent","message":{"kind":"message"}},"error":{"condition":"x"},"payload":[{"name":"z","xmlns":"urn:z"}]}`},

		// What does not fit stays in payload, in the generic form.
		{"body with another attribute", `<message><body id='x'>b</body></message>`,
			`{"kind":"message","payload":[{"name":"body","attrs":{"id":"x"},"children":["b"]}]}`},
		{"body with a child element", `<message><body>a<b/></body></message>`,
			`{"kind":"message","payload":[{"name":"body","children":["a",{"name":"b"}]}]}`},
		{"body in another namespace", `<message><body xmlns='urn:other'>b</body></message>`,
			`{"kind":"message","payload":[{"name":"body","xmlns":"urn:other","children":["b"]}]}`},
		{"second body without lang", `<message><body>1</body><body>2</body></message>`,
			`{"kind":"message","body":"1","payload":[{"name":"body","children":["2"]}]}`},
		{"thread with xml:lang", `<message><thread xml:lang='en'>t</thread></message>`,
			`{"kind":"message","payload":[{"name":"thread","attrs":{"xml:lang":"en"},"children":["t"]}]}`},
	})
}

func TestMessageToXML(t *testing.T) {
	testToXML(t, []toXMLTest{
		{"message fields in their order", `{"kind":"message","error":{"condition":"x"},"carbon":{"direction":"sent","message":{"body":"c"}},"delay":{"stamp":"s","from":"f","text":"t"},"received":"r","receipt_request":true,"chat_state":"paused","thread":"t","thread_parent":"p","bodies":[{"lang":"de","text":"d"},{"lang":"fr"}],"body":"b","subjects":[{"lang":"de","text":"s2"}],"subject":"s","payload":["text",{"name":"x","xmlns":"urn:x"}]}`,
			`<message xmlns='jabber:client'><subject>s</subject><subject xml:lang='de'>s2</subject><body>b</body><body xml:lang='de'>d</body><body xml:lang='fr'/><thread parent='p'>t</thread><paused xmlns='http://jabber.org/protocol/chatstates'/><request xmlns='urn:xmpp:receipts'/><received xmlns='urn:xmpp:receipts' id='r'/><delay xmlns='urn:xmpp:delay' stamp='s' from='f'>t</delay><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'><body>c</body></message></forwarded></sent><error><x xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>text<x xmlns='urn:x'/></message>`},
	})
}

func TestMessageToXMLErrors(t *testing.T) {
	testToXMLErrors(t, []toXMLErrorTest{
		{"thread_parent without thread", `{"kind":"message","thread_parent":"p"}`, CodeMissingField, "thread"},
		{"missing lang", `{"kind":"message","bodies":[{"text":"x"}]}`, CodeMissingField, "bodies[0].lang"},
	})
}
