package jsonxlate

import (
	"sync"

	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

// AppendJSON appends the JSON object for one top-level element as the
// bridge gets it from upstream: elem is the element's bytes exactly as the
// server sent them; ns holds namespace declarations borrowed from the stream
// header (e.g. " xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'")
// that apply as if declared on elem's start tag (may be empty): see
// xmppclient.Event's NS.
//
// elem is checked with xmlsplit.Parse; input that is not one well-formed,
// namespace-well-formed element is an *Error with code not-well-formed (and
// too-large when nested deeper than xmlsplit's default depth), and dst is
// returned unchanged. AppendJSON does not limit the element's size: the
// reader that split it from the stream has done that.
func AppendJSON(dst, elem []byte, ns string) ([]byte, error) {
	c := toJSONPool.Get().(*toJSON)
	defer c.release()
	if err := c.setNS(ns); err != nil {
		return dst, err
	}
	if _, err := xmlsplit.Parse(elem, xmlsplit.ParseOptions{
		Limits:  xmlsplit.Limits{MaxBytes: len(elem) + 1},
		Context: c.ctx,
	}); err != nil {
		return dst, fromSyntaxError(err)
	}
	if err := c.t.build(elem, c.outer); err != nil {
		return dst, &Error{Code: CodeNotWellFormed, Text: err.Error()}
	}
	return c.root(dst), nil
}

func fromSyntaxError(err error) *Error {
	e := &Error{Code: CodeNotWellFormed, Text: err.Error()}
	if se, ok := err.(*xmlsplit.SyntaxError); ok {
		e.Text = se.Msg
		if se.Cond == xmlsplit.PolicyViolation {
			e.Code = CodeTooLarge
		}
	}
	return e
}

// toJSON is the state of one AppendJSON call, pooled so that a conversion
// allocates nothing of its own once warm.
type toJSON struct {
	t   tree
	buf []byte  // scratch for decoded values
	cls []uint8 // for each child of a stanza: what it is shown as (see stanza)

	// The parsed form of the last ns argument, reused while it stays the
	// same (it is the same for every element of a stream).
	ns    string
	nsOK  bool
	outer []binding
	ctx   [][]byte
}

var toJSONPool = sync.Pool{New: func() any { return new(toJSON) }}

func (c *toJSON) release() {
	clear(c.t.nodes)
	clear(c.t.attrs)
	clear(c.t.binds)
	c.t.nodes, c.t.attrs, c.t.binds = c.t.nodes[:0], c.t.attrs[:0], c.t.binds[:0]
	if cap(c.t.nodes) > 4096 || cap(c.t.attrs) > 4096 || cap(c.buf) > 64<<10 || cap(c.t.buf) > 64<<10 {
		return // grown by a large element: let it go
	}
	toJSONPool.Put(c)
}

var (
	nsClientBytes = []byte(nsClient)
)

// setNS parses the borrowed declarations: a sequence of
// " xmlns='…'" and " xmlns:p='…'".
func (c *toJSON) setNS(ns string) error {
	if c.nsOK && ns == c.ns {
		return nil
	}
	c.nsOK, c.ns, c.outer, c.ctx = false, ns, c.outer[:0], c.ctx[:0]
	b := []byte(ns)
	for i := 0; ; {
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		if i == len(b) {
			break
		}
		j := i
		for j < len(b) && b[j] != '=' && !isSpace(b[j]) {
			j++
		}
		name := b[i:j:j]
		for j < len(b) && isSpace(b[j]) {
			j++
		}
		if j+1 >= len(b) || b[j] != '=' {
			return badNS(ns)
		}
		j++
		for j < len(b) && isSpace(b[j]) {
			j++
		}
		if j >= len(b) || b[j] != '\'' && b[j] != '"' {
			return badNS(ns)
		}
		end := indexByte(b, j+1, b[j])
		if end < 0 {
			return badNS(ns)
		}
		value := b[j+1 : end : end]
		if _, err := xmlsplit.Unescape(nil, value); err != nil || xmlsplit.InvalidChar(string(value)) >= 0 {
			return badNS(ns)
		}
		uri := nsValue(value)
		switch {
		case string(name) == "xmlns":
			if string(uri) == nsXML || string(uri) == nsXMLNS {
				return badNS(ns)
			}
			c.outer = append(c.outer, binding{uri: uri})
		case string(name) == "xmlns:xml" && string(uri) == nsXML:
			// bound anyway
		case len(name) > 6 && string(name[:6]) == "xmlns:" && xmlsplit.IsNCName(string(name[6:])) && string(name[6:]) != "xml" && string(name[6:]) != "xmlns":
			if len(uri) == 0 || string(uri) == nsXML || string(uri) == nsXMLNS {
				return badNS(ns)
			}
			c.outer = append(c.outer, binding{prefix: name[6:], uri: uri})
			c.ctx = append(c.ctx, name[6:])
		default:
			return badNS(ns)
		}
		i = end + 1
	}
	c.nsOK = true
	return nil
}

func badNS(ns string) *Error {
	return &Error{Code: CodeNotWellFormed, Text: "borrowed namespace declarations are malformed: " + ns}
}

// root converts nodes[0].
func (c *toJSON) root(dst []byte) []byte {
	n := &c.t.nodes[0]
	if string(n.ns) == nsClient {
		var k *stanzaKind
		switch string(n.local) {
		case "message":
			k = &message
		case "presence":
			k = &presence
		case "iq":
			k = &iq
		}
		if k != nil {
			if cap(c.cls) < len(c.t.nodes) {
				c.cls = make([]uint8, len(c.t.nodes), cap(c.t.nodes))
			}
			c.cls = c.cls[:len(c.t.nodes)]
			return c.stanza(dst, 0, k)
		}
	}
	dst = append(dst, `{"kind":"element","element":`...)
	dst = c.generic(dst, 0, nsClientBytes)
	return append(dst, '}')
}

// The queries of the tree below are what the friendly fields' fits and
// toJSON are written with.

// textValue writes the text of an element that has only text.
func (c *toJSON) textValue(dst []byte, idx int32) []byte {
	if f := c.t.nodes[idx].first; f >= 0 {
		return c.value(dst, c.t.nodes[f].raw, false)
	}
	return append(dst, `""`...)
}

// text returns the decoded text of an element that has only text; it is
// valid until the next use of c.buf.
func (c *toJSON) text(idx int32) []byte {
	if f := c.t.nodes[idx].first; f >= 0 {
		c.buf = decodeXML(c.buf[:0], c.t.nodes[f].raw, false)
		return c.buf
	}
	return nil
}

// spaceText reports whether the text node at idx is white space only.
func (c *toJSON) spaceText(idx int32) bool {
	raw := c.t.nodes[idx].raw
	if isSpaceOnly(raw) {
		return true
	}
	if !needsDecode(raw, false) {
		return false
	}
	c.buf = decodeXML(c.buf[:0], raw, false)
	return isSpaceOnly(c.buf)
}

// onlyText reports whether the element at idx has no child elements.
func (c *toJSON) onlyText(idx int32) bool {
	ch := c.t.nodes[idx].first
	return ch < 0 || c.t.nodes[ch].isText() && c.t.nodes[ch].next < 0
}

// kids lists up to three child elements.
type kids struct {
	n int
	k [3]int32
}

func (k *kids) list() []int32 { return k.k[:k.n] }

// onlyElements returns the child elements of idx when there are at most max
// (up to 3) of them and any text between them is white space.
func (c *toJSON) onlyElements(idx int32, max int) (k kids, ok bool) {
	for ch := c.t.nodes[idx].first; ch >= 0; ch = c.t.nodes[ch].next {
		if c.t.nodes[ch].isText() {
			if !c.spaceText(ch) {
				return k, false
			}
			continue
		}
		if k.n == max {
			return k, false
		}
		k.k[k.n] = ch
		k.n++
	}
	return k, true
}

// attrIs reports whether attribute k has the given expanded name.
func (c *toJSON) attrIs(k int32, ns, local string) bool {
	a := &c.t.attrs[k]
	return string(a.ns) == ns && string(a.local) == local
}

// attrsAmong reports whether every attribute of idx is one of the named
// attributes in no namespace (empty names match nothing).
func (c *toJSON) attrsAmong(idx int32, a, b, d string) bool {
	n := &c.t.nodes[idx]
	for k := n.a0; k < n.a1; k++ {
		at := &c.t.attrs[k]
		if len(at.ns) != 0 || len(at.local) == 0 {
			return false
		}
		switch string(at.local) {
		case a, b, d:
		default:
			return false
		}
	}
	return true
}
