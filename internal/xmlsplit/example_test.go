package xmlsplit_test

import (
	"fmt"

	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

func ExampleParse() {
	msg := []byte(`<message xmlns='jabber:client' to='juliet@example.com'><body>Art thou not Romeo, &amp; a Montague?</body></message>`)
	el, err := xmlsplit.Parse(msg, xmlsplit.ParseOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	to, _ := el.Attr("to")
	fmt.Printf("<%s> to %s\n", el.Name, to)

	_, err = xmlsplit.Parse([]byte(`<message><!-- hidden --></message>`), xmlsplit.ParseOptions{})
	fmt.Println(err.(*xmlsplit.SyntaxError).Cond)
	// Output:
	// <message> to juliet@example.com
	// restricted-xml
}

func ExampleSplitter_Split() {
	stream := []byte(`<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' version='1.0'>` +
		`<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features> ` +
		`<message to='romeo@example.net'><body>hi</body></message></stream:stream>`)
	var sp xmlsplit.Splitter
	for buf := stream; len(buf) > 0; {
		it, n, err := sp.Split(buf)
		if err != nil {
			fmt.Println(err)
			return
		}
		if n == 0 {
			break // read more, append it to buf and call Split again
		}
		buf = buf[n:]
		el := &it.Element
		switch it.Kind {
		case xmlsplit.KindOpen:
			fmt.Println("stream header")
		case xmlsplit.KindElement:
			// Framed on its own, the element needs the declarations it
			// takes from the stream header. (A namespace name holding ' or
			// & must be escaped again.)
			frame := append([]byte(nil), el.Raw[:el.NSAt]...)
			for _, p := range el.Borrowed {
				ns, _ := sp.Namespace(p)
				frame = fmt.Appendf(frame, " xmlns:%s='%s'", p, ns)
			}
			if ns, ok := sp.Namespace(nil); ok && !el.DeclaresDefault {
				frame = fmt.Appendf(frame, " xmlns='%s'", ns)
			}
			frame = append(frame, el.Raw[el.NSAt:]...)
			fmt.Printf("%s\n", frame)
		case xmlsplit.KindClose:
			fmt.Println("stream end")
		}
	}
	// Output:
	// stream header
	// <stream:features xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>
	// <message xmlns='jabber:client' to='romeo@example.net'><body>hi</body></message>
	// stream end
}
