package xmppclient

import (
	"strings"

	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

// openHeader is the stream header we send, first and on every restart.
func openHeader(cfg *Config) []byte {
	b := make([]byte, 0, 192)
	b = append(b, "<?xml version='1.0'?><stream:stream to='"...)
	b = appendEscaped(b, cfg.Domain)
	b = append(b, '\'')
	if cfg.From != "" {
		b = append(b, " from='"...)
		b = appendEscaped(b, cfg.From)
		b = append(b, '\'')
	}
	if cfg.Lang != "" {
		b = append(b, " xml:lang='"...)
		b = appendEscaped(b, cfg.Lang)
		b = append(b, '\'')
	}
	return append(b, " version='1.0' xmlns='jabber:client' xmlns:stream='"+nsStreams+"'>"...)
}

// appendEscaped appends s escaped for a single-quoted attribute value.
func appendEscaped(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			b = append(b, "&apos;"...)
		case '"':
			b = append(b, "&quot;"...)
		case '&':
			b = append(b, "&amp;"...)
		case '<':
			b = append(b, "&lt;"...)
		case '>':
			b = append(b, "&gt;"...)
		default:
			b = append(b, c)
		}
	}
	return b
}

// parseHeader reads the attributes the browser needs from the server's
// stream header.
func parseHeader(el *xmlsplit.Element) Header {
	get := func(name string) string {
		v, ok := el.Attr(name)
		if !ok {
			return ""
		}
		return unescapeString(v)
	}
	return Header{
		ID:      get("id"),
		From:    get("from"),
		To:      get("to"),
		Lang:    get("xml:lang"),
		Version: get("version"),
	}
}

// nsCache holds the namespace declarations a top-level element needs to
// stand alone, for the cases nearly every element is in, so that relaying
// a stanza allocates nothing for them. It is rebuilt for each stream header.
type nsCache struct {
	def       string // the stream's default namespace: " xmlns='jabber:client'"
	stream    string // the "stream" prefix: " xmlns:stream='…'"
	defStream string // both
}

func (c *nsCache) reset(sp *xmlsplit.Splitter) {
	*c = nsCache{}
	if ns, ok := sp.Namespace(nil); ok && ns != "" {
		c.def = nsDecl("", ns)
	}
	if ns, ok := sp.Namespace([]byte("stream")); ok {
		c.stream = nsDecl("stream", ns)
	}
	c.defStream = c.def + c.stream
}

// nsFor returns what el must declare to stand alone outside the stream.
func (c *nsCache) nsFor(el *xmlsplit.Element, sp *xmlsplit.Splitter) string {
	switch {
	case len(el.Borrowed) == 0:
		if el.DeclaresDefault {
			return ""
		}
		return c.def
	case len(el.Borrowed) == 1 && string(el.Borrowed[0]) == "stream" && c.stream != "":
		if el.DeclaresDefault {
			return c.stream
		}
		return c.defStream
	}
	var sb strings.Builder
	if !el.DeclaresDefault {
		sb.WriteString(c.def)
	}
	for _, p := range el.Borrowed {
		if ns, ok := sp.Namespace(p); ok {
			sb.WriteString(nsDecl(string(p), ns))
		}
	}
	return sb.String()
}

// nsDecl is " xmlns='ns'" (empty prefix) or " xmlns:prefix='ns'".
func nsDecl(prefix, ns string) string {
	b := make([]byte, 0, len(prefix)+len(ns)+12)
	b = append(b, " xmlns"...)
	if prefix != "" {
		b = append(b, ':')
		b = append(b, prefix...)
	}
	b = append(b, "='"...)
	b = appendEscaped(b, ns)
	return string(append(b, '\''))
}
