package jsonxlate_test

import (
	"fmt"

	"github.com/xmppbridge/xmppbridge/jsonxlate"
)

func ExampleAppendJSON() {
	// A message as the server sent it on a stream whose header declared
	// xmlns='jabber:client'.
	elem := []byte(`<message from='juliet@example.com/balcony' to='romeo@example.net' type='chat'>` +
		`<body>Art thou not Romeo?</body><active xmlns='http://jabber.org/protocol/chatstates'/>` +
		`<markable xmlns='urn:xmpp:chat-markers:0'/></message>`)
	obj, err := jsonxlate.AppendJSON(nil, elem, " xmlns='jabber:client'")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s\n", obj)
	// Output:
	// {"kind":"message","type":"chat","from":"juliet@example.com/balcony","to":"romeo@example.net","body":"Art thou not Romeo?","chat_state":"active","payload":[{"name":"markable","xmlns":"urn:xmpp:chat-markers:0"}]}
}

func ExampleAppendJSON_order() {
	// Conversations sends its chat state last: the JSON says where it was.
	elem := []byte(`<message type='chat'><body>Good night!</body><request xmlns='urn:xmpp:receipts'/>` +
		`<origin-id xmlns='urn:xmpp:sid:0' id='3a8b'/><active xmlns='http://jabber.org/protocol/chatstates'/></message>`)
	obj, err := jsonxlate.AppendJSON(nil, elem, " xmlns='jabber:client'")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s\n", obj)
	// Output:
	// {"kind":"message","type":"chat","body":"Good night!","chat_state":"active","receipt_request":true,"payload":[{"name":"origin-id","xmlns":"urn:xmpp:sid:0","attrs":{"id":"3a8b"}}],"order":["body","receipt_request","payload[0]","chat_state"]}
}

func ExampleAppendXML() {
	frame := []byte(`{"kind":"iq","type":"get","id":"r1","roster":{}}`)
	elem, err := jsonxlate.AppendXML(nil, frame)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s\n", elem)

	_, err = jsonxlate.AppendXML(nil, []byte(`{"kind":"message","chat_state":"typing"}`))
	fmt.Println(err)
	// Output:
	// <iq xmlns='jabber:client' id='r1' type='get'><query xmlns='jabber:iq:roster'/></iq>
	// jsonxlate: bad-value at chat_state: must be active, composing, paused, inactive or gone
}

func ExamplePeek() {
	kind, id, err := jsonxlate.Peek([]byte(`{"kind":"login","jid":"alice@example.com","password":"…","id":"l1"}`))
	fmt.Println(kind, id, err)
	// Output:
	// login l1 <nil>
}
