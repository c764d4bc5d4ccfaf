package jsonxlate

import "testing"

func TestOrderToJSON(t *testing.T) {
	testToJSON(t, []toJSONTest{
		{"out of order", `<message><active` + csNS + `/><body>b</body></message>`,
			`{"kind":"message","body":"b","chat_state":"active","order":["chat_state","body"]}`},
		{"bodies before body", `<message><body xml:lang='de'>d</body><body>b</body></message>`,
			`{"kind":"message","body":"b","bodies":[{"lang":"de","text":"d"}],"order":["bodies[0]","body"]}`},
		{"list entries apart", `<message><body xml:lang='de'>d</body><body>b</body><body xml:lang='fr'>f</body><body xml:lang='de'>again</body></message>`,
			`{"kind":"message","body":"b","bodies":[{"lang":"de","text":"d"},{"lang":"fr","text":"f"},{"lang":"de","text":"again"}],"order":["bodies[0]","body","bodies[1]","bodies[2]"]}`},
		{"friendly after an unknown child", `<message><x xmlns='urn:x'/><body>b</body></message>`,
			`{"kind":"message","body":"b","payload":[{"name":"x","xmlns":"urn:x"}],"order":["payload[0]","body"]}`},
		{"text in the stanza", `<message>t<body>b</body></message>`,
			`{"kind":"message","body":"b","payload":["t"],"order":["payload[0]","body"]}`},
		{"text around a friendly child", "<message>a <active" + csNS + "/> b\n <x xmlns='u'/>\n</message>",
			`{"kind":"message","chat_state":"active","payload":["a "," b\n ",{"name":"x","xmlns":"u"}],"order":["payload[0]","chat_state","payload[1]","payload[2]"]}`},
		{"the first that fits", `<message><body id='x'>a</body><body>b</body><body>c</body></message>`,
			`{"kind":"message","body":"b","payload":[{"name":"body","attrs":{"id":"x"},"children":["a"]},{"name":"body","children":["c"]}],"order":["payload[0]","body","payload[1]"]}`},
		{"friendly then payload needs no order", `<message><body>b</body><x xmlns='u'/><y xmlns='u'/></message>`,
			`{"kind":"message","body":"b","payload":[{"name":"x","xmlns":"u"},{"name":"y","xmlns":"u"}]}`},
		{"all message fields reversed", `<message><z xmlns='urn:z'/><error><x` + errNS + `/></error><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'><message xmlns='jabber:client'/></forwarded></sent><delay xmlns='urn:xmpp:delay' stamp='s'/><received xmlns='urn:xmpp:receipts' id='i'/><request xmlns='urn:xmpp:receipts'/><active` + csNS + `/><thread parent='p'>t</thread><body xml:lang='de'>d</body><body>b</body><subject xml:lang='de'>s2</subject><subject>s</subject></message>`,
			`{"kind":"message","subject":"s","subjects":[{"lang":"de","text":"s2"}],"body":"b","bodies":[{"lang":"de","text":"d"}],"thread":"t","thread_parent":"p","chat_state":"active","receipt_request":true,"received":"i","delay":{"stamp":"s"},"carbon":{"direction":"sent","message":{"kind":"message"}},"error":{"condition":"x"},"payload":[{"name":"z","xmlns":"urn:z"}],` +
				`"order":["payload[0]","error","carbon","delay","received","receipt_request","chat_state","thread","bodies[0]","body","subjects[0]","subject"]}`},
		{"all presence fields reversed", `<presence><error><x` + errNS + `/></error><delay xmlns='urn:xmpp:delay' stamp='s'/><priority>0</priority><status xml:lang='de'>d</status><status>s</status><show>xa</show></presence>`,
			`{"kind":"presence","show":"xa","status":"s","statuses":[{"lang":"de","text":"d"}],"priority":0,"delay":{"stamp":"s"},"error":{"condition":"x"},"order":["error","delay","priority","statuses[0]","status","show"]}`},
		{"iq error before roster", `<iq type='error'><error><x` + errNS + `/></error><query xmlns='jabber:iq:roster'/></iq>`,
			`{"kind":"iq","type":"error","roster":{"items":[]},"error":{"condition":"x"},"order":["error","roster"]}`},
	})
}

func TestOrderToXML(t *testing.T) {
	testToXML(t, []toXMLTest{
		{"order", `{"kind":"message","payload":[{"name":"markable","xmlns":"urn:m"},"t"],"chat_state":"active","bodies":[{"lang":"de","text":"d"},{"lang":"fr","text":"f"}],"body":"b","receipt_request":true,"order":["bodies[1]","body","receipt_request","payload[1]","payload[0]","chat_state","bodies[0]"]}`,
			`<message xmlns='jabber:client'><body xml:lang='fr'>f</body><body>b</body><request xmlns='urn:xmpp:receipts'/>t<markable xmlns='urn:m'/><active xmlns='http://jabber.org/protocol/chatstates'/><body xml:lang='de'>d</body></message>`},
		{"order of a presence", `{"kind":"presence","priority":1,"show":"away","payload":[{"name":"c","xmlns":"http://jabber.org/protocol/caps"}],"order":["payload[0]","show","priority"]}`,
			`<presence xmlns='jabber:client'><c xmlns='http://jabber.org/protocol/caps'/><show>away</show><priority>1</priority></presence>`},
		{"order of an iq", `{"kind":"iq","error":{"condition":"x"},"roster":{},"order":["error","roster"]}`,
			`<iq xmlns='jabber:client'><error><x xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error><query xmlns='jabber:iq:roster'/></iq>`},
		{"order the same as without it", `{"kind":"message","body":"b","payload":[{"name":"x"}],"order":["body","payload[0]"]}`,
			`<message xmlns='jabber:client'><body>b</body><x/></message>`},
		{"empty order", `{"kind":"message","receipt_request":false,"bodies":[],"payload":[],"order":[]}`, `<message xmlns='jabber:client'/>`},
		{"null order is absent", `{"kind":"message","chat_state":"gone","body":"b","order":null}`,
			`<message xmlns='jabber:client'><body>b</body><gone xmlns='http://jabber.org/protocol/chatstates'/></message>`},
	})
}

func TestOrderToXMLErrors(t *testing.T) {
	testToXMLErrors(t, []toXMLErrorTest{
		{"order not an array", `{"kind":"message","body":"b","order":"body"}`, CodeBadValue, "order"},
		{"order entry not a string", `{"kind":"message","body":"b","order":[1]}`, CodeBadValue, "order[0]"},
		{"order names an unknown field", `{"kind":"message","body":"b","order":["body","foo"]}`, CodeBadValue, "order[1]"},
		{"order names a field of another kind", `{"kind":"iq","roster":{},"order":["roster","body"]}`, CodeBadValue, "order[1]"},
		{"order names thread_parent", `{"kind":"message","thread":"t","thread_parent":"p","order":["thread","thread_parent"]}`, CodeBadValue, "order[1]"},
		{"order names kind", `{"kind":"message","order":["kind"]}`, CodeBadValue, "order[0]"},
		{"order names an absent field", `{"kind":"message","body":"b","order":["body","subject"]}`, CodeBadValue, "order[1]"},
		{"order names a null field", `{"kind":"message","body":null,"order":["body"]}`, CodeBadValue, "order[0]"},
		{"order names receipt_request false", `{"kind":"message","receipt_request":false,"order":["receipt_request"]}`, CodeBadValue, "order[0]"},
		{"false field named in order", `{"kind":"message","body":false,"order":["body"]}`, CodeBadValue, "body"},
		{"false field not named in order", `{"kind":"message","body":false,"order":[]}`, CodeBadValue, "order"},
		{"receipt_request of another type with order", `{"kind":"message","receipt_request":"yes","order":["receipt_request"]}`, CodeBadValue, "receipt_request"},
		{"order lists a field twice", `{"kind":"message","body":"b","order":["body","body"]}`, CodeBadValue, "order[1]"},
		{"order lists an entry twice", `{"kind":"message","payload":["a","b"],"order":["payload[1]","payload[0]","payload[1]"]}`, CodeBadValue, "order[2]"},
		{"order misses a field", `{"kind":"message","body":"b","chat_state":"active","order":["body"]}`, CodeBadValue, "order"},
		{"order misses receipt_request", `{"kind":"message","receipt_request":true,"order":[]}`, CodeBadValue, "order"},
		{"order misses a payload entry", `{"kind":"message","payload":["a",{"name":"x"}],"order":["payload[1]"]}`, CodeBadValue, "order"},
		{"order misses a list entry", `{"kind":"presence","statuses":[{"lang":"a"},{"lang":"b"}],"order":["statuses[1]"]}`, CodeBadValue, "order"},
		{"list field without an index", `{"kind":"message","bodies":[{"lang":"de"}],"order":["bodies"]}`, CodeBadValue, "order[0]"},
		{"payload without an index", `{"kind":"message","payload":["a"],"order":["payload"]}`, CodeBadValue, "order[0]"},
		{"field with an index", `{"kind":"message","body":"b","order":["body[0]"]}`, CodeBadValue, "order[0]"},
		{"index out of range", `{"kind":"message","payload":["a"],"order":["payload[0]","payload[1]"]}`, CodeBadValue, "order[1]"},
		{"index of an empty list", `{"kind":"message","bodies":[],"order":["bodies[0]"]}`, CodeBadValue, "order[0]"},
		{"index with a leading zero", `{"kind":"message","payload":["a"],"order":["payload[00]"]}`, CodeBadValue, "order[0]"},
		{"negative index", `{"kind":"message","payload":["a"],"order":["payload[-1]"]}`, CodeBadValue, "order[0]"},
		{"index with a sign", `{"kind":"message","payload":["a"],"order":["payload[+0]"]}`, CodeBadValue, "order[0]"},
		{"index too large", `{"kind":"message","payload":["a"],"order":["payload[4294967296]"]}`, CodeBadValue, "order[0]"},
		{"unclosed index", `{"kind":"message","payload":["a"],"order":["payload[0"]}`, CodeBadValue, "order[0]"},
		{"index with space", `{"kind":"message","payload":["a"],"order":["payload[ 0]"]}`, CodeBadValue, "order[0]"},
		{"order entry with brackets only", `{"kind":"message","payload":["a"],"order":["[","]","[]","payload[]",""]}`, CodeBadValue, "order[0]"},
		{"list not an array with order", `{"kind":"message","bodies":{},"order":[]}`, CodeBadValue, "bodies"},
		{"payload not an array with order", `{"kind":"message","payload":"x","order":[]}`, CodeBadValue, "payload"},
		{"order in a carbon's message", `{"kind":"message","carbon":{"direction":"sent","message":{"body":"b","order":["body","chat_state"]}}}`, CodeBadValue, "carbon.message.order[1]"},
	})
}
