package wsframe

import (
	"bytes"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// Namespaces of RFC 7395 and RFC 6120 that the framing uses.
const (
	nsFraming = "urn:ietf:params:xml:ns:xmpp-framing"
	nsStream  = "http://etherx.jabber.org/streams"
)

// frameKind says what a browser message holds.
type frameKind uint8

const (
	frameEmpty   frameKind = iota // whitespace only: a keepalive, ignored
	frameOpen                     // <open/>: open or restart the stream
	frameClose                    // <close/>: end the stream
	frameElement                  // anything else: relayed upstream
)

// openAttrs are the attributes of a browser's <open/>.
type openAttrs struct {
	To, From, Lang, Version string
}

// frame is one parsed browser message.
type frame struct {
	kind frameKind
	open openAttrs
	// elem is the element to relay, surrounding whitespace trimmed.
	elem []byte
}

// parseFrame checks one browser message and says what it is. Errors are
// *bridge.CloseError with the stream error RFC 6120 names.
func parseFrame(msg []byte, lim xmlsplit.Limits) (frame, *bridge.CloseError) {
	if len(bytes.TrimLeft(msg, " \t\r\n")) == 0 {
		return frame{kind: frameEmpty}, nil
	}
	el, err := xmlsplit.Parse(msg, xmlsplit.ParseOptions{Limits: lim})
	if err != nil {
		return frame{}, syntaxEnd(err)
	}
	prefix, local := splitName(el.Name)
	ns := elementNS(&el, prefix)
	switch {
	case ns == nsFraming && local == "open":
		return parseOpen(&el)
	case ns == nsFraming && local == "close":
		return frame{kind: frameClose}, nil
	case ns == nsFraming:
		return frame{}, &bridge.CloseError{Reason: bridge.ReasonBadFormat, Text: "unknown framing element <" + local + "/>"}
	case ns == nsStream && local == "stream":
		// The RFC 6120 stream header is not how streams open here.
		return frame{}, &bridge.CloseError{Reason: bridge.ReasonInvalidNamespace, Text: "use <open/> in the " + nsFraming + " namespace (RFC 7395)"}
	}
	return frame{kind: frameElement, elem: el.Raw}, nil
}

func parseOpen(el *xmlsplit.Element) (frame, *bridge.CloseError) {
	var o openAttrs
	for _, a := range el.Attrs {
		v, err := xmlsplit.Unescape(nil, a.Value)
		if err != nil {
			return frame{}, syntaxEnd(err)
		}
		switch string(a.Name) {
		case "to":
			o.To = string(v)
		case "from":
			o.From = string(v)
		case "xml:lang":
			o.Lang = string(v)
		case "version":
			o.Version = string(v)
		}
	}
	if o.Version != "1.0" {
		return frame{}, &bridge.CloseError{Reason: bridge.ReasonUnsupportedVersion, Text: "version='1.0' is required"}
	}
	if o.To == "" {
		return frame{}, &bridge.CloseError{Reason: bridge.ReasonHostUnknown, Text: "the 'to' attribute is required"}
	}
	return frame{kind: frameOpen, open: o}, nil
}

func splitName(name []byte) (prefix, local string) {
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		return string(name[:i]), string(name[i+1:])
	}
	return "", string(name)
}

// elementNS is the namespace of the element's own name, as declared on the
// element itself (a standalone frame has no other context).
func elementNS(el *xmlsplit.Element, prefix string) string {
	attr := "xmlns"
	if prefix != "" {
		attr = "xmlns:" + prefix
	}
	v, ok := el.Attr(attr)
	if !ok {
		return ""
	}
	return string(v)
}

func syntaxEnd(err error) *bridge.CloseError {
	r := bridge.ReasonNotWellFormed
	text := ""
	if se, ok := err.(*xmlsplit.SyntaxError); ok {
		text = se.Msg
		switch se.Cond {
		case xmlsplit.RestrictedXML:
			r = bridge.ReasonRestrictedXML
		case xmlsplit.PolicyViolation:
			r = bridge.ReasonTooBig
		}
	}
	return &bridge.CloseError{Reason: r, Text: text, Err: err}
}

// appendOpen appends the <open/> answering the browser, from the server's
// stream header.
func appendOpen(b []byte, h *xmppclient.Header) []byte {
	b = append(b, "<open xmlns='"+nsFraming+"' version='1.0'"...)
	b = xmlsplit.AppendAttr(b, "from", h.From)
	b = xmlsplit.AppendAttr(b, "to", h.To)
	b = xmlsplit.AppendAttr(b, "id", h.ID)
	b = xmlsplit.AppendAttr(b, "xml:lang", h.Lang)
	return append(b, "/>"...)
}

// appendClose appends a <close/>, with see-other-uri when given.
func appendClose(b []byte, seeOther string) []byte {
	b = append(b, "<close xmlns='"+nsFraming+"'"...)
	b = xmlsplit.AppendAttr(b, "see-other-uri", seeOther)
	return append(b, "/>"...)
}
