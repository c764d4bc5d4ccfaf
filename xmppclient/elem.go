package xmppclient

import (
	"bytes"

	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

// Helpers for looking inside the few elements the package itself must
// understand (features, SASL, bind, stream errors). None of them is on the
// relay path of ordinary stanzas.

// parseEvent parses an element read by Next as it would stand alone, with
// the namespace declarations it borrows from the stream inserted, and
// describes its direct children.
func parseEvent(ev *Event) (xmlsplit.Element, error) {
	return xmlsplit.Parse(withNS(ev.Data, ev.NSAt, ev.NS), xmlsplit.ParseOptions{Children: true})
}

// withNS is raw with the declarations ns inserted at nsAt: the element as
// it stands alone. It is raw itself when ns is empty, else a new slice.
func withNS(raw []byte, nsAt int, ns string) []byte {
	if ns == "" {
		return raw
	}
	return appendWithNS(make([]byte, 0, len(raw)+len(ns)), raw, nsAt, ns)
}

// AppendStandalone appends the event's element as it stands alone outside
// the stream: Data with the declarations it borrows from the stream header
// (NS) in its start tag.
func (ev *Event) AppendStandalone(dst []byte) []byte {
	return appendWithNS(dst, ev.Data, ev.NSAt, ev.NS)
}

func appendWithNS(dst, raw []byte, nsAt int, ns string) []byte {
	if ns == "" {
		return append(dst, raw...)
	}
	dst = append(dst, raw[:nsAt]...)
	dst = append(dst, ns...)
	return append(dst, raw[nsAt:]...)
}

// parseChildren describes the direct children of el, an element found
// among the children of its ancestors (nearest first), whose namespace
// prefixes it may use, as it may those the top-level element borrowed.
func parseChildren(el *xmlsplit.Element, borrowed [][]byte, ancestors ...*xmlsplit.Element) (xmlsplit.Element, error) {
	ctx := borrowed[:len(borrowed):len(borrowed)]
	for _, a := range ancestors {
		for _, at := range a.Attrs {
			if p, ok := bytes.CutPrefix(at.Name, []byte("xmlns:")); ok {
				ctx = append(ctx, p)
			}
		}
	}
	return xmlsplit.Parse(el.Raw, xmlsplit.ParseOptions{Children: true, Context: ctx})
}

func localName(name []byte) string {
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		return string(name[i+1:])
	}
	return string(name)
}

// nsOf resolves the namespace of el's name from its own declarations, then
// from its ancestors', nearest first.
func nsOf(el *xmlsplit.Element, ancestors ...*xmlsplit.Element) string {
	attr := "xmlns"
	if i := bytes.IndexByte(el.Name, ':'); i >= 0 {
		attr = "xmlns:" + string(el.Name[:i])
	}
	if v, ok := el.Attr(attr); ok {
		return unescapeString(v)
	}
	for _, a := range ancestors {
		if v, ok := a.Attr(attr); ok {
			return unescapeString(v)
		}
	}
	return ""
}

// is reports whether el is named local in namespace ns.
func is(el *xmlsplit.Element, local, ns string, ancestors ...*xmlsplit.Element) bool {
	return localName(el.Name) == local && nsOf(el, ancestors...) == ns
}

func unescapeString(raw []byte) string {
	if bytes.IndexByte(raw, '&') < 0 {
		return string(raw)
	}
	b, err := xmlsplit.Unescape(nil, raw)
	if err != nil {
		return string(raw)
	}
	return string(b)
}

// rawText returns the content of el between its start and end tags,
// undecoded: for the simple text-only elements this package reads.
func rawText(el *xmlsplit.Element) []byte {
	if el.SelfClosing {
		return nil
	}
	start := xmlsplit.StartTagEnd(el.Raw, 0)
	end := bytes.LastIndex(el.Raw, []byte("</"))
	if end < start {
		return nil
	}
	return el.Raw[start:end]
}

// elementText returns the decoded, trimmed text content of el.
func elementText(el *xmlsplit.Element) []byte {
	raw := bytes.TrimSpace(rawText(el))
	if bytes.IndexByte(raw, '&') < 0 {
		return raw
	}
	b, err := xmlsplit.Unescape(nil, raw)
	if err != nil {
		return raw
	}
	return b
}

// findChild returns the first direct child of el named local in ns.
func findChild(el *xmlsplit.Element, local, ns string) *xmlsplit.Element {
	for i := range el.Children {
		if is(&el.Children[i], local, ns, el) {
			return &el.Children[i]
		}
	}
	return nil
}
