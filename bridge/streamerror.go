package bridge

import (
	"bytes"

	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

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

// ParseStreamError reports whether data, an element from the server, is its
// <stream:error/>, and if so its condition and text. The server's own stream
// header binds the prefix; every server in use writes it "stream".
func ParseStreamError(data []byte) (cond, text string, ok bool) {
	const p = "<stream:error"
	if !bytes.HasPrefix(data, []byte(p)) || len(data) == len(p) || !isDelim(data[len(p)]) {
		return "", "", false
	}
	el, err := xmlsplit.Parse(data, xmlsplit.ParseOptions{Children: true, Context: [][]byte{[]byte("stream")}})
	if err != nil {
		return "", "", false
	}
	for i := range el.Children {
		ch := &el.Children[i]
		local := ch.Name[bytes.IndexByte(ch.Name, ':')+1:]
		if string(local) != "text" {
			if cond == "" {
				cond = string(local)
			}
			continue
		}
		if ch.SelfClosing {
			continue
		}
		inner := ch.Raw[bytes.IndexByte(ch.Raw, '>')+1 : bytes.LastIndexByte(ch.Raw, '<')]
		if t, err := xmlsplit.Unescape(nil, inner); err == nil {
			text = string(t)
		}
	}
	if cond == "" {
		cond = "undefined-condition"
	}
	return cond, text, true
}

func isDelim(c byte) bool {
	switch c {
	case ' ', '>', '/', '\t', '\r', '\n':
		return true
	}
	return false
}
