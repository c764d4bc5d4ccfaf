package jsonxlate

import "testing"

// benchMessage is a typical chat message as the bridge gets it from the
// server (its namespace is borrowed from the stream header): a body, a chat
// state, a receipt request and an extension the mapping does not know.
var benchMessage = []byte(`<message from='juliet@capulet.example/balcony' to='romeo@montague.example/garden' type='chat' id='b4vs9km4'>` +
	`<body>Wherefore art thou, Romeo? Deny thy father &amp; refuse thy name.</body>` +
	`<active xmlns='http://jabber.org/protocol/chatstates'/><request xmlns='urn:xmpp:receipts'/>` +
	`<origin-id xmlns='urn:xmpp:sid:0' id='de305d54-75b4-431b-adb2-eb6b9e546014'/></message>`)

// benchReordered is a message as Conversations sends it: its chat state
// comes after extensions the mapping does not know, so its JSON has "order".
var benchReordered = []byte(`<message from='juliet@capulet.example/Conversations.Xk8a' to='romeo@montague.example' type='chat' id='3a8b3b8e-5f7c-4f0a-9c1d-2e6b9a4d7f10'>` +
	`<body>Wherefore art thou, Romeo? Deny thy father &amp; refuse thy name.</body>` +
	`<request xmlns='urn:xmpp:receipts'/><markable xmlns='urn:xmpp:chat-markers:0'/>` +
	`<origin-id xmlns='urn:xmpp:sid:0' id='3a8b3b8e-5f7c-4f0a-9c1d-2e6b9a4d7f10'/><active xmlns='http://jabber.org/protocol/chatstates'/></message>`)

var benchPresence = []byte(`<presence from='juliet@capulet.example/balcony' to='romeo@montague.example'>` +
	`<show>away</show><status>In a meeting</status><priority>5</priority>` +
	`<c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='https://conversations.im' ver='QqxZvDU6ZUSqOeBGJNp+L+fIyak='/></presence>`)

const benchNS = " xmlns='jabber:client'"

func BenchmarkToJSON(b *testing.B) {
	for _, bc := range []struct {
		name string
		xml  []byte
	}{{"message", benchMessage}, {"reordered", benchReordered}, {"presence", benchPresence}} {
		b.Run(bc.name, func(b *testing.B) {
			dst, err := AppendJSON(nil, bc.xml, benchNS)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.xml)))
			for b.Loop() {
				dst, _ = AppendJSON(dst[:0], bc.xml, benchNS)
			}
		})
	}
}

func BenchmarkToXML(b *testing.B) {
	for _, bc := range []struct {
		name string
		xml  []byte
	}{{"message", benchMessage}, {"reordered", benchReordered}, {"presence", benchPresence}} {
		b.Run(bc.name, func(b *testing.B) {
			obj, err := AppendJSON(nil, bc.xml, benchNS)
			if err != nil {
				b.Fatal(err)
			}
			dst, err := AppendXML(nil, obj)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(obj)))
			for b.Loop() {
				dst, _ = AppendXML(dst[:0], obj)
			}
		})
	}
}

func BenchmarkPeek(b *testing.B) {
	obj, err := AppendJSON(nil, benchMessage, benchNS)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		Peek(obj)
	}
}
