package bridge

import "github.com/xmppbridge/xmppbridge/internal/xmlsplit"

const (
	nsStream = "http://etherx.jabber.org/streams"
	nsErrors = "urn:ietf:params:xml:ns:xmpp-streams"
)

// AppendStreamError appends a <stream:error/> that stands alone, with its
// namespaces declared, for the bridge to send a browser in its own name.
func AppendStreamError(b []byte, cond, text string) []byte {
	b = append(b, "<stream:error xmlns:stream='"+nsStream+"'><"...)
	b = append(b, cond...)
	b = append(b, " xmlns='"+nsErrors+"'/>"...)
	if text != "" {
		b = append(b, "<text xmlns='"+nsErrors+"'>"...)
		b = xmlsplit.AppendEscape(b, text)
		b = append(b, "</text>"...)
	}
	return append(b, "</stream:error>"...)
}
