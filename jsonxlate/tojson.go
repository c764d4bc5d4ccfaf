package jsonxlate

import (
	"strconv"
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

// stanza writes the object for the stanza of kind k at idx.
func (c *toJSON) stanza(dst []byte, idx int32, k *stanzaKind) []byte {
	t := &c.t
	n := &t.nodes[idx]
	dst = append(dst, `{"kind":`...)
	dst = appendJSONString(dst, n.local)

	// id, type, from, to, lang, then the rest as attrs.
	var known [5]int32
	for k := range known {
		known[k] = -1
	}
	others := false
	for k := n.a0; k < n.a1; k++ {
		a := &t.attrs[k]
		switch {
		case len(a.ns) == 0 && string(a.local) == "id":
			known[0] = k
		case len(a.ns) == 0 && string(a.local) == "type":
			known[1] = k
		case len(a.ns) == 0 && string(a.local) == "from":
			known[2] = k
		case len(a.ns) == 0 && string(a.local) == "to":
			known[3] = k
		case string(a.ns) == nsXML && string(a.local) == "lang":
			known[4] = k
		default:
			others = true
		}
	}
	for j, k := range known {
		if k >= 0 {
			dst = append(dst, stanzaAttrKeys[j]...)
			dst = c.value(dst, t.attrs[k].raw, true)
		}
	}
	if others {
		dst = append(dst, `,"attrs":{`...)
		first := true
		for k := n.a0; k < n.a1; k++ {
			if k == known[0] || k == known[1] || k == known[2] || k == known[3] || k == known[4] {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = c.attrMember(dst, k)
		}
		dst = append(dst, '}')
	}

	// Which children are friendly fields: for each field the first child
	// that fits it, for a list field every one. cls holds the answer for
	// each child, so that it is worked out once; reordered says whether
	// the document order differs from the order AppendXML writes without
	// "order": the fields in the order of k.fields, then payload.
	var taken uint32 // bit i: k.fields[i] has its child
	last, inPayload, reordered := 0, false, false
	for ch := n.first; ch >= 0; ch = t.nodes[ch].next {
		i := -1
		if t.nodes[ch].isText() {
			if c.spaceText(ch) {
				c.cls[ch] = clsSpace
				continue
			}
		} else if i = c.classify(k, ch); i >= 0 && taken&(1<<i) != 0 && !k.fields[i].list {
			i = -1 // a second one stays generic
		}
		if i < 0 {
			c.cls[ch] = clsPayload
			inPayload = true
			continue
		}
		c.cls[ch] = uint8(i)
		if inPayload || i < last {
			reordered = true
		}
		taken |= 1 << i
		last = i
	}

	for i := 0; taken>>i != 0; i++ {
		if taken&(1<<i) == 0 {
			continue
		}
		f := &k.fields[i]
		dst = append(dst, ',', '"')
		dst = append(dst, f.name...)
		dst = append(dst, '"', ':')
		if f.list {
			dst = append(dst, '[')
		}
		again := false
		for ch := n.first; ch >= 0; ch = t.nodes[ch].next {
			if c.cls[ch] != uint8(i) {
				continue
			}
			if !f.list {
				dst = f.toJSON(c, dst, ch)
				break
			}
			if again {
				dst = append(dst, ',')
			}
			dst = c.langTextEntry(dst, ch)
			again = true
		}
		if f.list {
			dst = append(dst, ']')
		}
	}

	if inPayload {
		dst = append(dst, `,"payload":[`...)
		first := true
		for ch := n.first; ch >= 0; ch = t.nodes[ch].next {
			if c.cls[ch] != clsPayload {
				continue
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = c.child(dst, ch, nsClientBytes)
		}
		dst = append(dst, ']')
	}

	if reordered {
		dst = c.order(dst, k, idx)
	}
	return append(dst, '}')
}

// What toJSON.cls holds for a child of a stanza that is not a friendly
// field: white space, which has no JSON form, or an entry of payload. For a
// friendly field it holds the field's index in its stanzaKind's fields.
const (
	clsPayload = 0xfe
	clsSpace   = 0xff
)

// order writes the "order" member of the stanza of kind k at idx: each
// child's place in the JSON object, in document order.
func (c *toJSON) order(dst []byte, k *stanzaKind, idx int32) []byte {
	t := &c.t
	var listed [maxFields]int // entries so far of each list field
	j := 0                    // payload entries so far
	dst = append(dst, `,"order":[`...)
	first := true
	for ch := t.nodes[idx].first; ch >= 0; ch = t.nodes[ch].next {
		i := c.cls[ch]
		if i == clsSpace {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		switch {
		case i == clsPayload:
			dst = append(dst, "payload["...)
			dst = strconv.AppendInt(dst, int64(j), 10)
			dst = append(dst, ']')
			j++
		case k.fields[i].list:
			dst = append(dst, k.fields[i].name...)
			dst = append(dst, '[')
			dst = strconv.AppendInt(dst, int64(listed[i]), 10)
			dst = append(dst, ']')
			listed[i]++
		default:
			dst = append(dst, k.fields[i].name...)
		}
		dst = append(dst, '"')
	}
	return append(dst, ']')
}

var stanzaAttrKeys = [...]string{`,"id":`, `,"type":`, `,"from":`, `,"to":`, `,"lang":`}

// classify returns the index of the friendly field of k that the child
// element at idx can be shown as, or -1.
func (c *toJSON) classify(k *stanzaKind, idx int32) int {
	n := &c.t.nodes[idx]
	for i := range k.fields {
		f := &k.fields[i]
		if string(n.ns) == f.ns && (f.local == "" || string(n.local) == f.local) && f.fits(c, idx) {
			return i
		}
	}
	return -1
}

// plainText: <body>, <subject> or <status> with text and no attributes.
func (c *toJSON) plainText(idx int32) bool {
	return c.onlyText(idx) && c.t.nodes[idx].a0 == c.t.nodes[idx].a1
}

// langText: the same with xml:lang, and no other attribute: an entry of
// bodies, subjects or statuses.
func (c *toJSON) langText(idx int32) bool {
	n := &c.t.nodes[idx]
	return c.onlyText(idx) && n.a1 == n.a0+1 && c.attrIs(n.a0, nsXML, "lang")
}

// langTextEntry writes the entry of a list field for the child at idx.
func (c *toJSON) langTextEntry(dst []byte, idx int32) []byte {
	dst = append(dst, `{"lang":`...)
	dst = c.value(dst, c.t.attrs[c.t.nodes[idx].a0].raw, true)
	dst = append(dst, `,"text":`...)
	dst = c.textValue(dst, idx)
	return append(dst, '}')
}

// thread: <thread [parent='…']>text</thread>.
func (c *toJSON) isThread(idx int32) bool {
	return c.onlyText(idx) && c.attrsAmong(idx, "parent", "", "")
}

func (c *toJSON) thread(dst []byte, idx int32) []byte {
	n := &c.t.nodes[idx]
	dst = c.textValue(dst, idx)
	if n.a1 > n.a0 {
		dst = append(dst, `,"thread_parent":`...)
		dst = c.value(dst, c.t.attrs[n.a0].raw, true)
	}
	return dst
}

// isChatState: <active|composing|paused|inactive|gone
// xmlns='http://jabber.org/protocol/chatstates'/>, with nothing inside.
func (c *toJSON) isChatState(idx int32) bool {
	n := &c.t.nodes[idx]
	return validChatState(n.local) && n.first < 0 && n.a0 == n.a1
}

func (c *toJSON) chatState(dst []byte, idx int32) []byte {
	return appendJSONString(dst, c.t.nodes[idx].local)
}

// isReceiptRequest: <request xmlns='urn:xmpp:receipts'/>.
func (c *toJSON) isReceiptRequest(idx int32) bool {
	n := &c.t.nodes[idx]
	return n.first < 0 && n.a0 == n.a1
}

func (c *toJSON) receiptRequest(dst []byte, idx int32) []byte {
	return append(dst, "true"...)
}

// isReceived: <received xmlns='urn:xmpp:receipts' id='…'/>.
func (c *toJSON) isReceived(idx int32) bool {
	n := &c.t.nodes[idx]
	return n.first < 0 && n.a1 == n.a0+1 && c.attrIs(n.a0, "", "id")
}

func (c *toJSON) received(dst []byte, idx int32) []byte {
	return c.value(dst, c.t.attrs[c.t.nodes[idx].a0].raw, true)
}

// isShow: <show> with one of the four values and no attributes.
func (c *toJSON) isShow(idx int32) bool {
	return c.plainText(idx) && validShow(c.text(idx))
}

// isPriority: <priority> with a number that JSON gives back as it is
// written, and no attributes.
func (c *toJSON) isPriority(idx int32) bool {
	return c.plainText(idx) && validPriority(c.text(idx))
}

func (c *toJSON) priority(dst []byte, idx int32) []byte {
	return append(dst, c.text(idx)...)
}
func validChatState(local []byte) bool {
	switch string(local) {
	case "active", "composing", "paused", "inactive", "gone":
		return true
	}
	return false
}

func validShow(s []byte) bool {
	switch string(s) {
	case "away", "chat", "dnd", "xa":
		return true
	}
	return false
}

// validPriority reports whether s is an integer from -128 to 127 written the
// way a JSON number is, so that the number gives back the same text.
func validPriority(s []byte) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
		if len(s) == 1 && s[0] == '0' {
			return false
		}
		if len(s) == 3 && string(s) > "128" {
			return false
		}
	} else if len(s) == 3 && string(s) > "127" {
		return false
	}
	if len(s) == 0 || len(s) > 3 || len(s) > 1 && s[0] == '0' {
		return false
	}
	for _, d := range s {
		if d < '0' || d > '9' {
			return false
		}
	}
	return true
}

// isDelay: <delay xmlns='urn:xmpp:delay' stamp='…' [from='…']>[text]</delay>.
func (c *toJSON) isDelay(idx int32) bool {
	n := &c.t.nodes[idx]
	if string(n.local) != "delay" || !c.onlyText(idx) {
		return false
	}
	stamp := false
	for k := n.a0; k < n.a1; k++ {
		switch {
		case c.attrIs(k, "", "stamp"):
			stamp = true
		case c.attrIs(k, "", "from"):
		default:
			return false
		}
	}
	return stamp
}

func (c *toJSON) delay(dst []byte, idx int32) []byte {
	t := &c.t
	n := &t.nodes[idx]
	var stamp, from int32 = -1, -1
	for k := n.a0; k < n.a1; k++ {
		if string(t.attrs[k].local) == "stamp" {
			stamp = k
		} else {
			from = k
		}
	}
	dst = append(dst, `{"stamp":`...)
	dst = c.value(dst, t.attrs[stamp].raw, true)
	if from >= 0 {
		dst = append(dst, `,"from":`...)
		dst = c.value(dst, t.attrs[from].raw, true)
	}
	if n.first >= 0 {
		dst = append(dst, `,"text":`...)
		dst = c.textValue(dst, idx)
	}
	return append(dst, '}')
}

// isCarbon: <received|sent xmlns='urn:xmpp:carbons:2'><forwarded
// xmlns='urn:xmpp:forward:0'>[<delay/>]<message xmlns='jabber:client'/>
// </forwarded></…>, with nothing else but white space between them.
func (c *toJSON) isCarbon(idx int32) bool {
	t := &c.t
	n := &t.nodes[idx]
	if string(n.local) != "received" && string(n.local) != "sent" || n.a0 != n.a1 {
		return false
	}
	fwk, ok := c.onlyElements(idx, 1)
	if !ok || fwk.n != 1 {
		return false
	}
	fw := fwk.k[0]
	f := &t.nodes[fw]
	if string(f.ns) != nsForward || string(f.local) != "forwarded" || f.a0 != f.a1 {
		return false
	}
	k, ok := c.onlyElements(fw, 2)
	kids := k.list()
	if !ok || len(kids) == 0 {
		return false
	}
	msg := kids[len(kids)-1]
	if m := &t.nodes[msg]; string(m.ns) != nsClient || string(m.local) != "message" {
		return false
	}
	if len(kids) == 2 {
		d := &t.nodes[kids[0]]
		return string(d.ns) == nsDelay && c.isDelay(kids[0])
	}
	return true
}

func (c *toJSON) carbon(dst []byte, idx int32) []byte {
	t := &c.t
	n := &t.nodes[idx]
	fw, _ := c.onlyElements(idx, 1)
	k, _ := c.onlyElements(fw.k[0], 2)
	kids := k.list()
	dst = append(dst, `{"direction":`...)
	dst = appendJSONString(dst, n.local)
	dst = append(dst, `,"message":`...)
	dst = c.stanza(dst, kids[len(kids)-1], &message)
	if len(kids) == 2 {
		dst = append(dst, `,"delay":`...)
		dst = c.delay(dst, kids[0])
	}
	return append(dst, '}')
}

// isError: <error [type] [by] [code]><condition xmlns='…stanzas'/>
// [<text xmlns='…stanzas' [xml:lang]>…</text>][<app-specific/>]</error>.
func (c *toJSON) isError(idx int32) bool {
	t := &c.t
	n := &t.nodes[idx]
	for k := n.a0; k < n.a1; k++ {
		a := &t.attrs[k]
		if len(a.ns) != 0 {
			return false
		}
		switch string(a.local) {
		case "type", "by", "code":
		default:
			return false
		}
	}
	k, ok := c.onlyElements(idx, 3)
	kids := k.list()
	if !ok || len(kids) == 0 {
		return false
	}
	cond := &t.nodes[kids[0]]
	if string(cond.ns) != nsStanzas || string(cond.local) == "text" || cond.first >= 0 || cond.a0 != cond.a1 {
		return false
	}
	rest := kids[1:]
	if len(rest) > 0 && c.isErrorText(rest[0]) {
		rest = rest[1:]
	}
	switch len(rest) {
	case 0:
		return true
	case 1:
		return string(t.nodes[rest[0]].ns) != nsStanzas
	}
	return false
}

func (c *toJSON) isErrorText(idx int32) bool {
	n := &c.t.nodes[idx]
	if string(n.ns) != nsStanzas || string(n.local) != "text" || !c.onlyText(idx) {
		return false
	}
	return n.a0 == n.a1 || n.a1 == n.a0+1 && c.attrIs(n.a0, nsXML, "lang")
}

func (c *toJSON) stanzaError(dst []byte, idx int32) []byte {
	t := &c.t
	n := &t.nodes[idx]
	k, _ := c.onlyElements(idx, 3)
	kids := k.list()
	dst = append(dst, '{')
	var typ, by, code int32 = -1, -1, -1
	for k := n.a0; k < n.a1; k++ {
		switch string(t.attrs[k].local) {
		case "type":
			typ = k
		case "by":
			by = k
		default:
			code = k
		}
	}
	if typ >= 0 {
		dst = append(dst, `"type":`...)
		dst = c.value(dst, t.attrs[typ].raw, true)
		dst = append(dst, ',')
	}
	dst = append(dst, `"condition":`...)
	dst = appendJSONString(dst, t.nodes[kids[0]].local)
	rest := kids[1:]
	if len(rest) > 0 && c.isErrorText(rest[0]) {
		tx := &t.nodes[rest[0]]
		dst = append(dst, `,"text":`...)
		dst = c.textValue(dst, rest[0])
		if tx.a1 > tx.a0 {
			dst = append(dst, `,"text_lang":`...)
			dst = c.value(dst, t.attrs[tx.a0].raw, true)
		}
		rest = rest[1:]
	}
	if by >= 0 {
		dst = append(dst, `,"by":`...)
		dst = c.value(dst, t.attrs[by].raw, true)
	}
	if code >= 0 {
		dst = append(dst, `,"code":`...)
		dst = c.value(dst, t.attrs[code].raw, true)
	}
	if len(rest) > 0 {
		dst = append(dst, `,"app":`...)
		dst = c.generic(dst, rest[0], n.ns)
	}
	return append(dst, '}')
}

// isRoster: <query xmlns='jabber:iq:roster' [ver]> with only <item/>s, each
// with only jid, name, subscription, ask and approved ('true' or 'false')
// and only <group/>s of text.
func (c *toJSON) isRoster(idx int32) bool {
	t := &c.t
	n := &t.nodes[idx]
	if string(n.local) != "query" || !c.attrsAmong(idx, "ver", "", "") {
		return false
	}
	for it := n.first; it >= 0; it = t.nodes[it].next {
		in := &t.nodes[it]
		if in.isText() {
			if !c.spaceText(it) {
				return false
			}
			continue
		}
		if string(in.ns) != nsRoster || string(in.local) != "item" {
			return false
		}
		for k := in.a0; k < in.a1; k++ {
			a := &t.attrs[k]
			if len(a.ns) != 0 {
				return false
			}
			switch string(a.local) {
			case "jid", "name", "subscription", "ask":
			case "approved":
				c.buf = decodeXML(c.buf[:0], a.raw, true)
				if string(c.buf) != "true" && string(c.buf) != "false" {
					return false
				}
			default:
				return false
			}
		}
		for g := in.first; g >= 0; g = t.nodes[g].next {
			gn := &t.nodes[g]
			if gn.isText() {
				if !c.spaceText(g) {
					return false
				}
				continue
			}
			if string(gn.ns) != nsRoster || string(gn.local) != "group" || gn.a0 != gn.a1 || !c.onlyText(g) {
				return false
			}
		}
	}
	return true
}

var rosterItemKeys = [...]string{"jid", "name", "subscription", "ask"}

func (c *toJSON) roster(dst []byte, idx int32) []byte {
	t := &c.t
	n := &t.nodes[idx]
	dst = append(dst, '{')
	if n.a1 > n.a0 {
		dst = append(dst, `"ver":`...)
		dst = c.value(dst, t.attrs[n.a0].raw, true)
		dst = append(dst, ',')
	}
	dst = append(dst, `"items":[`...)
	firstItem := true
	for it := n.first; it >= 0; it = t.nodes[it].next {
		in := &t.nodes[it]
		if in.isText() {
			continue
		}
		if !firstItem {
			dst = append(dst, ',')
		}
		firstItem = false
		dst = append(dst, '{')
		first := true
		for _, key := range rosterItemKeys {
			for k := in.a0; k < in.a1; k++ {
				if string(t.attrs[k].local) == key {
					if !first {
						dst = append(dst, ',')
					}
					first = false
					dst = append(dst, '"')
					dst = append(dst, key...)
					dst = append(dst, '"', ':')
					dst = c.value(dst, t.attrs[k].raw, true)
				}
			}
		}
		for k := in.a0; k < in.a1; k++ {
			if string(t.attrs[k].local) == "approved" {
				if !first {
					dst = append(dst, ',')
				}
				first = false
				c.buf = decodeXML(c.buf[:0], t.attrs[k].raw, true)
				dst = append(dst, `"approved":`...)
				dst = append(dst, c.buf...)
			}
		}
		firstGroup := true
		for g := in.first; g >= 0; g = t.nodes[g].next {
			if t.nodes[g].isText() {
				continue
			}
			switch {
			case firstGroup && first:
				dst = append(dst, `"groups":[`...)
			case firstGroup:
				dst = append(dst, `,"groups":[`...)
			default:
				dst = append(dst, ',')
			}
			firstGroup = false
			dst = c.textValue(dst, g)
		}
		if !firstGroup {
			dst = append(dst, ']')
		}
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

// generic writes the lossless form of the element at idx, whose parent is
// in namespace parentNS.
func (c *toJSON) generic(dst []byte, idx int32, parentNS []byte) []byte {
	t := &c.t
	n := &t.nodes[idx]
	dst = append(dst, `{"name":`...)
	dst = appendJSONString(dst, n.local)
	if string(n.ns) != string(parentNS) {
		dst = append(dst, `,"xmlns":`...)
		dst = appendJSONString(dst, n.ns)
	}
	if n.a1 > n.a0 {
		dst = append(dst, `,"attrs":{`...)
		for k := n.a0; k < n.a1; k++ {
			if k > n.a0 {
				dst = append(dst, ',')
			}
			dst = c.attrMember(dst, k)
		}
		dst = append(dst, '}')
	}
	if n.first >= 0 {
		dst = append(dst, `,"children":[`...)
		for ch := n.first; ch >= 0; ch = t.nodes[ch].next {
			if ch != n.first {
				dst = append(dst, ',')
			}
			dst = c.child(dst, ch, n.ns)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

func (c *toJSON) child(dst []byte, idx int32, parentNS []byte) []byte {
	if n := &c.t.nodes[idx]; n.isText() {
		return c.value(dst, n.raw, false)
	}
	return c.generic(dst, idx, parentNS)
}

// attrMember writes "key":"value" for an attribute: the key is the local
// name, "xml:" and the local name, or "{namespace}" and the local name.
func (c *toJSON) attrMember(dst []byte, k int32) []byte {
	a := &c.t.attrs[k]
	dst = append(dst, '"')
	switch string(a.ns) {
	case "":
	case nsXML:
		dst = append(dst, "xml:"...)
	default:
		dst = append(dst, '{')
		dst = appendJSONEscaped(dst, a.ns)
		dst = append(dst, '}')
	}
	dst = appendJSONEscaped(dst, a.local)
	dst = append(dst, '"', ':')
	return c.value(dst, a.raw, true)
}

// value writes the decoded raw text or attribute value as a JSON string.
// Most values need no decoding: they are copied in one pass, which gives up
// and starts again through decodeXML at the first byte that needs it.
func (c *toJSON) value(dst, raw []byte, attr bool) []byte {
	start := len(dst)
	class := &textClass
	if attr {
		class = &attrClass
	}
	dst = append(dst, '"')
	last := 0
	for i := 0; i < len(raw); i++ {
		switch class[raw[i]] {
		case copyByte:
			continue
		case decodeByte:
			c.buf = decodeXML(c.buf[:0], raw, attr)
			return appendJSONString(dst[:start], c.buf)
		}
		n := 1
		if raw[i] == 0xE2 { // U+2028 and U+2029 are escaped, the rest of U+2xxx not
			if i+2 >= len(raw) || raw[i+1] != 0x80 || raw[i+2] != 0xA8 && raw[i+2] != 0xA9 {
				continue
			}
			n = 3
		}
		dst = append(dst, raw[last:i]...)
		dst = appendJSONEscaped(dst, raw[i:i+n])
		i += n - 1
		last = i + 1
	}
	dst = append(dst, raw[last:]...)
	return append(dst, '"')
}

// Byte classes for value: bytes copied as they are, bytes JSON escapes,
// bytes that need decodeXML first.
const (
	copyByte = iota
	escapeByte
	decodeByte
)

var textClass, attrClass = func() (text, attr [256]uint8) {
	for c := 0; c < 256; c++ {
		if !jsonSafe[c] {
			text[c] = escapeByte
		}
	}
	text['&'], text['<'], text['\r'] = decodeByte, decodeByte, decodeByte
	attr = text
	attr['<'] = copyByte // cannot be in a checked attribute value
	attr['\t'], attr['\n'] = decodeByte, decodeByte
	return text, attr
}()

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
