package jsonxlate

import "testing"

func TestReceiptsToJSON(t *testing.T) {
	testToJSON(t, []toJSONTest{
		{"receipt request", `<message><request xmlns='urn:xmpp:receipts'/></message>`, `{"kind":"message","receipt_request":true}`},
		{"receipt", `<message><received xmlns='urn:xmpp:receipts' id='r1'/></message>`, `{"kind":"message","received":"r1"}`},

		// What does not fit stays in payload, in the generic form.
		{"receipt without id", `<message><received xmlns='urn:xmpp:receipts'/></message>`,
			`{"kind":"message","payload":[{"name":"received","xmlns":"urn:xmpp:receipts"}]}`},
	})
}

func TestReceiptsToXML(t *testing.T) {
	testToXML(t, []toXMLTest{
		{"receipt_request false", `{"kind":"message","receipt_request":false}`, `<message xmlns='jabber:client'/>`},
	})
}

func TestReceiptsToXMLErrors(t *testing.T) {
	testToXMLErrors(t, []toXMLErrorTest{
		{"receipt_request", `{"kind":"message","receipt_request":"yes"}`, CodeBadValue, "receipt_request"},
	})
}
