package jsonxlate

import "testing"

func TestRosterToJSON(t *testing.T) {
	testToJSON(t, []toJSONTest{
		{"roster", `<iq type='result'><query xmlns='jabber:iq:roster' ver='v'><item jid='a' name='n' subscription='both' ask='subscribe' approved='false'><group>g1</group><group/></item></query></iq>`,
			`{"kind":"iq","type":"result","roster":{"ver":"v","items":[{"jid":"a","name":"n","subscription":"both","ask":"subscribe","approved":false,"groups":["g1",""]}]}}`},
		{"empty roster", `<iq><query xmlns='jabber:iq:roster'/></iq>`, `{"kind":"iq","roster":{"items":[]}}`},
		{"roster then error", `<iq type='error'><query xmlns='jabber:iq:roster'/><error type='modify'><bad-request` + errNS + `/></error></iq>`,
			`{"kind":"iq","type":"error","roster":{"items":[]},"error":{"type":"modify","condition":"bad-request"}}`},
		{"space in friendly containers dropped", "<iq><query xmlns='jabber:iq:roster'>\n<item jid='a'>\n<group>g</group>\n</item>\n</query></iq>",
			`{"kind":"iq","roster":{"items":[{"jid":"a","groups":["g"]}]}}`},

		// What does not fit stays in payload, in the generic form.
		{"roster item with another attribute", `<iq><query xmlns='jabber:iq:roster'><item jid='a' x='1'/></query></iq>`,
			`{"kind":"iq","payload":[{"name":"query","xmlns":"jabber:iq:roster","children":[{"name":"item","attrs":{"jid":"a","x":"1"}}]}]}`},
		{"roster approved not true or false", `<iq><query xmlns='jabber:iq:roster'><item approved='1'/></query></iq>`,
			`{"kind":"iq","payload":[{"name":"query","xmlns":"jabber:iq:roster","children":[{"name":"item","attrs":{"approved":"1"}}]}]}`},
		{"roster in a message", `<message><query xmlns='jabber:iq:roster'/></message>`,
			`{"kind":"message","payload":[{"name":"query","xmlns":"jabber:iq:roster"}]}`},
	})
}

func TestRosterToXML(t *testing.T) {
	testToXML(t, []toXMLTest{
		{"roster", `{"kind":"iq","type":"set","id":"r","roster":{"ver":"v","items":[{"jid":"a","name":"A","subscription":"both","ask":"subscribe","approved":true,"groups":["g","h"]},{"jid":"b","approved":false}]}}`,
			`<iq xmlns='jabber:client' id='r' type='set'><query xmlns='jabber:iq:roster' ver='v'><item jid='a' name='A' subscription='both' ask='subscribe' approved='true'><group>g</group><group>h</group></item><item jid='b' approved='false'/></query></iq>`},
		{"roster without items", `{"kind":"iq","type":"get","roster":{}}`, `<iq xmlns='jabber:client' type='get'><query xmlns='jabber:iq:roster'/></iq>`},
	})
}

func TestRosterToXMLErrors(t *testing.T) {
	testToXMLErrors(t, []toXMLErrorTest{
		{"approved", `{"kind":"iq","roster":{"items":[{"approved":"true"}]}}`, CodeBadValue, "roster.items[0].approved"},
	})
}
