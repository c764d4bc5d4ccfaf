package jsonxlate

import (
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

// maxDepth is the deepest nesting AppendXML writes: xmlsplit's default, so
// that what it writes passes the checks every reader in the bridge makes.
const maxDepth = 64

// AppendXML appends the XML for one JSON stanza object (kind message,
// presence or iq, or kind "element"), as a self-contained element: the
// stanza carries xmlns='jabber:client', and every namespace it uses is
// declared inside it. The result is one element that xmlsplit.Parse
// accepts, ready to write upstream.
//
// Input that cannot be converted is an *Error naming the field, and dst is
// returned unchanged. A null member counts as absent. Members this version
// of the mapping does not define are errors, not ignored.
func AppendXML(dst, obj []byte) ([]byte, error) {
	nodes, err := parseJSON(obj)
	if err != nil {
		return dst, err
	}
	w := xmlWriterPool.Get().(*xmlWriter)
	defer w.release()
	w.n, w.b = nodes, dst
	kind := int32(-1)
	for m := nodes[0].first; m >= 0; m = nodes[m].next {
		if nodes[m].key == "kind" {
			kind = m
		}
	}
	if kind < 0 || nodes[kind].typ != jStr {
		return dst, &Error{Code: CodeUnknownKind, Field: "kind", Text: "kind must be message, presence, iq or element"}
	}
	switch k := nodes[kind].str; k {
	case "message":
		err = w.stanza(0, &message, nil)
	case "presence":
		err = w.stanza(0, &presence, nil)
	case "iq":
		err = w.stanza(0, &iq, nil)
	case "element":
		err = w.element(0)
	default:
		return dst, &Error{Code: CodeUnknownKind, Field: "kind", Text: strconv.Quote(k) + " is not a kind of stanza"}
	}
	if err != nil {
		return dst, err
	}
	return w.b, nil
}

// path names a field for errors; it is built only when one is reported.
type path struct {
	up  *path
	key string
	idx int // >= 0: an array element
}

func (p *path) String() string {
	var segs []string
	for q := p; q != nil; q = q.up {
		switch {
		case q.idx >= 0:
			segs = append(segs, "["+strconv.Itoa(q.idx)+"]")
		case xmlsplit.IsNCName(q.key) && !strings.Contains(q.key, "."):
			segs = append(segs, "."+q.key)
		default:
			segs = append(segs, "["+strconv.Quote(q.key)+"]")
		}
	}
	var sb strings.Builder
	for i := len(segs) - 1; i >= 0; i-- {
		sb.WriteString(segs[i])
	}
	return strings.TrimPrefix(sb.String(), ".")
}

func field(up *path, key string) *path { return &path{up: up, key: key, idx: -1} }
func index(up *path, i int) *path      { return &path{up: up, idx: i} }

func errAt(code string, p *path, text string) *Error {
	return &Error{Code: code, Field: p.String(), Text: text}
}

type xmlWriter struct {
	n     []jnode
	b     []byte
	depth int
	pfx   []string // namespaces given a prefix on the current start tag
}

// xmlWriterPool keeps AppendXML's writers: the friendly fields are written
// through function values (friendlyField.toXML), which would move a writer
// on the stack to the heap on every call.
var xmlWriterPool = sync.Pool{New: func() any { return new(xmlWriter) }}

func (w *xmlWriter) release() {
	if cap(w.pfx) > 64 {
		return // grown by a large element: let it go
	}
	clear(w.pfx[:cap(w.pfx)])
	*w = xmlWriter{pfx: w.pfx[:0]}
	xmlWriterPool.Put(w)
}

// members calls fn for each member of the object at m that is not null;
// fn returns false for a member it does not know.
func (w *xmlWriter) members(m int32, p *path, what string, fn func(key string, v int32) bool) *Error {
	for c := w.n[m].first; c >= 0; c = w.n[c].next {
		nd := &w.n[c]
		if nd.badKey {
			return errAt(CodeBadValue, p, "a member name is not valid Unicode")
		}
		if nd.typ == jNull {
			continue
		}
		if !fn(nd.key, c) {
			return errAt(CodeBadValue, field(p, nd.key), "not a field of "+what)
		}
	}
	return nil
}

func (w *xmlWriter) want(v int32, p *path, t jtype) *Error {
	if w.n[v].typ != t {
		return errAt(CodeBadValue, p, "must be "+t.String()+", not "+w.n[v].typ.String())
	}
	return nil
}

// str returns the string at v, checked for XML.
func (w *xmlWriter) str(v int32, p *path) (string, *Error) {
	if err := w.want(v, p, jStr); err != nil {
		return "", err
	}
	nd := &w.n[v]
	if nd.bad {
		return "", errAt(CodeBadValue, p, "not valid Unicode (invalid UTF-8 or a lone surrogate)")
	}
	if i := xmlsplit.InvalidChar(nd.str); i >= 0 {
		r := []rune(nd.str[i:])[0]
		return "", errAt(CodeBadValue, p, "character "+strconv.QuoteRuneToASCII(r)+" is not allowed in XML")
	}
	return nd.str, nil
}

func (w *xmlWriter) name(v int32, p *path) (string, *Error) {
	s, err := w.str(v, p)
	if err != nil {
		return "", err
	}
	if !xmlsplit.IsNCName(s) {
		return "", errAt(CodeBadValue, p, strconv.Quote(s)+" is not an XML name without a colon")
	}
	return s, nil
}

// open starts an element; ns is declared as the default namespace unless
// empty. The caller closes the start tag with startEnd.
func (w *xmlWriter) open(p *path, name, ns string) *Error {
	w.depth++
	if w.depth > maxDepth {
		return errAt(CodeTooLarge, p, "nested deeper than "+strconv.Itoa(maxDepth)+" elements")
	}
	w.b = append(w.b, '<')
	w.b = append(w.b, name...)
	if ns != "" {
		w.attr("xmlns", ns)
	}
	return nil
}

// attr writes ` name='value'`; value has been checked.
func (w *xmlWriter) attr(name, value string) {
	w.b = append(w.b, ' ')
	w.b = append(w.b, name...)
	w.b = append(w.b, '=', '\'')
	w.b = xmlsplit.AppendEscape(w.b, value)
	w.b = append(w.b, '\'')
}

// startEnd ends a start tag and returns the mark that end needs.
func (w *xmlWriter) startEnd() int {
	w.b = append(w.b, '>')
	return len(w.b)
}

// end closes the element begun at mark: as <x/> when nothing was written
// inside it.
func (w *xmlWriter) end(mark int, name string) {
	w.depth--
	if len(w.b) == mark {
		w.b = append(w.b[:mark-1], '/', '>')
		return
	}
	w.b = append(w.b, '<', '/')
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
}

func (w *xmlWriter) text(s string) {
	w.b = xmlsplit.AppendText(w.b, s)
}

// leaf writes <name [xmlns] [xml:lang]>text</name>.
func (w *xmlWriter) leaf(p *path, name, ns, lang string, hasLang bool, text string) *Error {
	if err := w.open(p, name, ns); err != nil {
		return err
	}
	if hasLang {
		w.attr("xml:lang", lang)
	}
	mark := w.startEnd()
	w.text(text)
	w.end(mark, name)
	return nil
}

// stanzaMembers holds the members of a stanza object, -1 when absent.
type stanzaMembers struct {
	kind, id, typ, from, to, lang, attrs, payload, order int32

	child [maxFields]int32 // the member of each friendly field, by index
	with  [maxFields]int32 // the member named by each field's with
}

// stanza writes the object at m as a stanza of kind k.
func (w *xmlWriter) stanza(m int32, k *stanzaKind, p *path) *Error {
	f := stanzaMembers{kind: -1, id: -1, typ: -1, from: -1, to: -1, lang: -1, attrs: -1, payload: -1, order: -1}
	for i := range f.child {
		f.child[i], f.with[i] = -1, -1
	}
	err := w.members(m, p, k.what, func(key string, v int32) bool {
		var slot *int32
		switch key {
		case "kind":
			slot = &f.kind
		case "id":
			slot = &f.id
		case "type":
			slot = &f.typ
		case "from":
			slot = &f.from
		case "to":
			slot = &f.to
		case "lang":
			slot = &f.lang
		case "attrs":
			slot = &f.attrs
		case "payload":
			slot = &f.payload
		case "order":
			slot = &f.order
		default:
			for i := range k.fields {
				if k.fields[i].name == key {
					slot = &f.child[i]
					break
				}
				if k.fields[i].with == key && key != "" {
					slot = &f.with[i]
					break
				}
			}
		}
		if slot == nil {
			return false
		}
		*slot = v
		return true
	})
	if err != nil {
		return err
	}
	// AppendXML chose k by kind; the message of a carbon may leave it out.
	if f.kind >= 0 && (w.n[f.kind].typ != jStr || w.n[f.kind].str != k.name) {
		return errAt(CodeBadValue, field(p, "kind"), `must be "`+k.name+`" or absent`)
	}
	for i := range k.fields {
		if f.with[i] >= 0 && f.child[i] < 0 {
			return errAt(CodeMissingField, field(p, k.fields[i].name), k.fields[i].with+" needs "+k.fields[i].name)
		}
	}

	if err := w.open(p, k.name, nsClient); err != nil {
		return err
	}
	for _, a := range [...]struct {
		v    int32
		key  string
		name string
	}{{f.id, "id", "id"}, {f.typ, "type", "type"}, {f.from, "from", "from"}, {f.to, "to", "to"}, {f.lang, "lang", "xml:lang"}} {
		if a.v < 0 {
			continue
		}
		s, err := w.str(a.v, field(p, a.key))
		if err != nil {
			return err
		}
		w.attr(a.name, s)
	}
	if f.attrs >= 0 {
		if err := w.attrs(f.attrs, field(p, "attrs"), true); err != nil {
			return err
		}
	}
	mark := w.startEnd()

	if f.order >= 0 {
		if err := w.ordered(&f, k, p); err != nil {
			return err
		}
		w.end(mark, k.name)
		return nil
	}

	// Without "order": the friendly children in the order of k.fields,
	// then payload.
	for i, v := range f.child[:len(k.fields)] {
		if v < 0 {
			continue
		}
		fl := &k.fields[i]
		if !fl.list {
			if err := fl.toXML(w, v, f.with[i], p); err != nil {
				return err
			}
			continue
		}
		lp := field(p, fl.name)
		if err := w.want(v, lp, jArr); err != nil {
			return err
		}
		j := 0
		for e := w.n[v].first; e >= 0; e, j = w.n[e].next, j+1 {
			if err := w.langEntry(e, index(lp, j), fl); err != nil {
				return err
			}
		}
	}
	if f.payload >= 0 {
		if err := w.children(f.payload, field(p, "payload"), nsClient, nsClient); err != nil {
			return err
		}
	}
	w.end(mark, k.name)
	return nil
}

// ordered writes the children of a stanza of kind k in the order of its
// "order" member: the children in document order, each named by where the
// object keeps it ("body", "bodies[0]", "payload[2]"). It must name every
// child the object stands for exactly once, and nothing else. A child is
// written as soon as it is named; if "order" turns out wrong, AppendXML
// throws away what was written.
func (w *xmlWriter) ordered(f *stanzaMembers, k *stanzaKind, p *path) *Error {
	fields := k.fields
	op := field(p, "order")
	if err := w.want(f.order, op, jArr); err != nil {
		return err
	}
	// The entries of the list fields and of payload (index len(fields))
	// are in one slice: those of index i in all[start[i]:start[i+1]]. An
	// entry is marked named by complementing it.
	payload := len(fields)
	arrays := func(fn func(i int, v int32)) {
		for i, v := range f.child[:len(fields)] {
			if v >= 0 && fields[i].list {
				fn(i, v)
			}
		}
		if f.payload >= 0 {
			fn(payload, f.payload)
		}
	}
	var start [maxFields + 2]int
	var err *Error
	arrays(func(i int, v int32) {
		if err == nil {
			err = w.want(v, arrayPath(p, k, i), jArr)
		}
		for e := w.n[v].first; e >= 0; e = w.n[e].next {
			start[i+1]++
		}
	})
	if err != nil {
		return err
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	all := make([]int32, start[len(start)-1])
	arrays(func(i int, v int32) {
		j := start[i]
		for e := w.n[v].first; e >= 0; e = w.n[e].next {
			all[j] = e
			j++
		}
	})

	var named uint32 // bit i: the field fields[i] is named
	n := 0
	for c := w.n[f.order].first; c >= 0; c, n = w.n[c].next, n+1 {
		ep := index(op, n)
		if err := w.want(c, ep, jStr); err != nil {
			return err
		}
		s := w.n[c].str
		key, j, indexed := splitIndex(s)
		i := k.fieldIndex(key)
		if key == "payload" {
			i = payload
		}
		switch {
		case i < 0:
			return errAt(CodeBadValue, ep, strconv.Quote(s)+" does not name a child")
		case indexed != (i == payload || fields[i].list):
			if indexed {
				return errAt(CodeBadValue, ep, strconv.Quote(s)+": "+key+" is not an array")
			}
			return errAt(CodeBadValue, ep, strconv.Quote(s)+" needs an index, as in "+key+"[0]")
		}
		if !indexed {
			fl := &fields[i]
			v := f.child[i]
			if !w.writesChild(fl, v) {
				return errAt(CodeBadValue, ep, strconv.Quote(s)+" names no child: the field is absent")
			}
			if named&(1<<i) != 0 {
				return errAt(CodeBadValue, ep, strconv.Quote(s)+" is named twice")
			}
			named |= 1 << i
			if err := fl.toXML(w, v, f.with[i], p); err != nil {
				return err
			}
			continue
		}
		count := start[i+1] - start[i]
		if j >= count {
			return errAt(CodeBadValue, ep, strconv.Quote(s)+" names no entry: "+key+" has "+entries(count))
		}
		v := all[start[i]+j]
		if v < 0 {
			return errAt(CodeBadValue, ep, strconv.Quote(s)+" is named twice")
		}
		all[start[i]+j] = ^v
		ip := index(field(p, key), j)
		if i == payload {
			err = w.child(v, ip, nsClient, nsClient)
		} else {
			err = w.langEntry(v, ip, &fields[i])
		}
		if err != nil {
			return err
		}
	}

	for i, v := range f.child[:len(fields)] {
		if !fields[i].list && w.writesChild(&fields[i], v) && named&(1<<i) == 0 {
			return errAt(CodeBadValue, op, "does not name "+fields[i].name)
		}
	}
	for i := 0; i < len(start)-1; i++ {
		for j := start[i]; j < start[i+1]; j++ {
			if all[j] >= 0 {
				return errAt(CodeBadValue, op, "does not name "+arrayPath(nil, k, i).String()+"["+strconv.Itoa(j-start[i])+"]")
			}
		}
	}
	return nil
}

// writesChild reports whether the friendly field fl, whose member is v
// (-1 when absent), writes a child: all do when present, but one whose
// falseIsNone is set does not when false.
func (w *xmlWriter) writesChild(fl *friendlyField, v int32) bool {
	return v >= 0 && !(fl.falseIsNone && w.n[v].typ == jFalse)
}

// arrayPath is the path of the list field of index i of k, or of payload
// for index len(k.fields).
func arrayPath(p *path, k *stanzaKind, i int) *path {
	if i == len(k.fields) {
		return field(p, "payload")
	}
	return field(p, k.fields[i].name)
}

// entries says how many entries an array has, for errors.
func entries(n int) string {
	if n == 1 {
		return "1 entry"
	}
	return strconv.Itoa(n) + " entries"
}

// splitIndex splits "key[i]" into key and i; indexed is false for a plain
// key. An index is written as JSON writes a non-negative integer ("0",
// "12", not "012" or "+1"); anything else is returned whole as the key, to
// name nothing.
func splitIndex(s string) (key string, i int, indexed bool) {
	open := strings.IndexByte(s, '[')
	if open < 0 || s[len(s)-1] != ']' {
		return s, 0, false
	}
	digits := s[open+1 : len(s)-1]
	if len(digits) == 0 || len(digits) > 9 || len(digits) > 1 && digits[0] == '0' {
		return s, 0, false
	}
	for j := 0; j < len(digits); j++ {
		if digits[j] < '0' || digits[j] > '9' {
			return s, 0, false
		}
		i = i*10 + int(digits[j]-'0')
	}
	return s[:open], i, true
}

// The friendly fields subject, body and status: <name>text</name>.
func (w *xmlWriter) subject(v, _ int32, p *path) *Error { return w.textChild(v, p, "subject") }
func (w *xmlWriter) body(v, _ int32, p *path) *Error    { return w.textChild(v, p, "body") }
func (w *xmlWriter) status(v, _ int32, p *path) *Error  { return w.textChild(v, p, "status") }

func (w *xmlWriter) textChild(v int32, p *path, name string) *Error {
	s, err := w.str(v, field(p, name))
	if err != nil {
		return err
	}
	return w.leaf(p, name, "", "", false, s)
}

func (w *xmlWriter) chatState(v, _ int32, p *path) *Error {
	s, err := w.str(v, field(p, "chat_state"))
	if err != nil {
		return err
	}
	if !validChatState([]byte(s)) {
		return errAt(CodeBadValue, field(p, "chat_state"), "must be active, composing, paused, inactive or gone")
	}
	w.empty(p, s, nsChatStates)
	return nil
}

func (w *xmlWriter) receiptRequest(v, _ int32, p *path) *Error {
	switch w.n[v].typ {
	case jTrue:
		w.empty(p, "request", nsReceipts)
	case jFalse:
	default:
		return errAt(CodeBadValue, field(p, "receipt_request"), "must be true or false")
	}
	return nil
}

func (w *xmlWriter) received(v, _ int32, p *path) *Error {
	s, err := w.str(v, field(p, "received"))
	if err != nil {
		return err
	}
	if err := w.open(p, "received", nsReceipts); err != nil {
		return err
	}
	w.attr("id", s)
	w.end(w.startEnd(), "received")
	return nil
}

func (w *xmlWriter) show(v, _ int32, p *path) *Error {
	s, err := w.str(v, field(p, "show"))
	if err != nil {
		return err
	}
	if !validShow([]byte(s)) {
		return errAt(CodeBadValue, field(p, "show"), "must be away, chat, dnd or xa")
	}
	return w.leaf(p, "show", "", "", false, s)
}

// empty writes <name xmlns='ns'/>.
func (w *xmlWriter) empty(p *path, name, ns string) {
	w.open(p, name, ns) // depth is checked by the parent's children
	w.b = append(w.b, '/', '>')
	w.depth--
}

// langEntry writes the entry at e, path ep, of the list field fl
// (subjects, bodies or statuses).
func (w *xmlWriter) langEntry(e int32, ep *path, fl *friendlyField) *Error {
	name := fl.local
	if err := w.want(e, ep, jObj); err != nil {
		return err
	}
	var lang, text int32 = -1, -1
	err := w.members(e, ep, "a "+name, func(key string, v int32) bool {
		switch key {
		case "lang":
			lang = v
		case "text":
			text = v
		default:
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	if lang < 0 {
		return errAt(CodeMissingField, field(ep, "lang"), "each of "+fl.name+" has a lang (without one, use "+name+")")
	}
	l, err := w.str(lang, field(ep, "lang"))
	if err != nil {
		return err
	}
	t := ""
	if text >= 0 {
		if t, err = w.str(text, field(ep, "text")); err != nil {
			return err
		}
	}
	return w.leaf(ep, name, "", l, true, t)
}

func (w *xmlWriter) thread(thread, parent int32, p *path) *Error {
	s, err := w.str(thread, field(p, "thread"))
	if err != nil {
		return err
	}
	if err := w.open(p, "thread", ""); err != nil {
		return err
	}
	if parent >= 0 {
		ps, err := w.str(parent, field(p, "thread_parent"))
		if err != nil {
			return err
		}
		w.attr("parent", ps)
	}
	mark := w.startEnd()
	w.text(s)
	w.end(mark, "thread")
	return nil
}

func (w *xmlWriter) priority(v, _ int32, p *path) *Error {
	p = field(p, "priority")
	if err := w.want(v, p, jNum); err != nil {
		return err
	}
	f, err := strconv.ParseFloat(w.n[v].str, 64)
	if err != nil || f != math.Trunc(f) || f < -128 || f > 127 {
		return errAt(CodeBadValue, p, "must be an integer from -128 to 127")
	}
	return w.leaf(p, "priority", "", "", false, strconv.Itoa(int(f)))
}

func (w *xmlWriter) delay(v int32, p *path) *Error {
	if err := w.want(v, p, jObj); err != nil {
		return err
	}
	var stamp, from, text int32 = -1, -1, -1
	err := w.members(v, p, "a delay", func(key string, m int32) bool {
		switch key {
		case "stamp":
			stamp = m
		case "from":
			from = m
		case "text":
			text = m
		default:
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	if stamp < 0 {
		return errAt(CodeMissingField, field(p, "stamp"), "a delay has a stamp")
	}
	if err := w.open(p, "delay", nsDelay); err != nil {
		return err
	}
	for _, a := range [...]struct {
		v   int32
		key string
	}{{stamp, "stamp"}, {from, "from"}} {
		if a.v >= 0 {
			s, err := w.str(a.v, field(p, a.key))
			if err != nil {
				return err
			}
			w.attr(a.key, s)
		}
	}
	mark := w.startEnd()
	if text >= 0 {
		s, err := w.str(text, field(p, "text"))
		if err != nil {
			return err
		}
		w.text(s)
	}
	w.end(mark, "delay")
	return nil
}

func (w *xmlWriter) carbon(v int32, p *path) *Error {
	if err := w.want(v, p, jObj); err != nil {
		return err
	}
	var dir, msg, delay int32 = -1, -1, -1
	err := w.members(v, p, "a carbon", func(key string, m int32) bool {
		switch key {
		case "direction":
			dir = m
		case "message":
			msg = m
		case "delay":
			delay = m
		default:
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	if dir < 0 {
		return errAt(CodeMissingField, field(p, "direction"), "a carbon has a direction")
	}
	if msg < 0 {
		return errAt(CodeMissingField, field(p, "message"), "a carbon has a message")
	}
	d, err := w.str(dir, field(p, "direction"))
	if err != nil {
		return err
	}
	if d != "received" && d != "sent" {
		return errAt(CodeBadValue, field(p, "direction"), "must be received or sent")
	}
	if err := w.want(msg, field(p, "message"), jObj); err != nil {
		return err
	}
	if err := w.open(p, d, nsCarbons); err != nil {
		return err
	}
	outer := w.startEnd()
	if err := w.open(p, "forwarded", nsForward); err != nil {
		return err
	}
	inner := w.startEnd()
	if delay >= 0 {
		if err := w.delay(delay, field(p, "delay")); err != nil {
			return err
		}
	}
	if err := w.stanza(msg, &message, field(p, "message")); err != nil {
		return err
	}
	w.end(inner, "forwarded")
	w.end(outer, d)
	return nil
}

func (w *xmlWriter) roster(v int32, p *path) *Error {
	if err := w.want(v, p, jObj); err != nil {
		return err
	}
	var ver, items int32 = -1, -1
	err := w.members(v, p, "a roster", func(key string, m int32) bool {
		switch key {
		case "ver":
			ver = m
		case "items":
			items = m
		default:
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	if err := w.open(p, "query", nsRoster); err != nil {
		return err
	}
	if ver >= 0 {
		s, err := w.str(ver, field(p, "ver"))
		if err != nil {
			return err
		}
		w.attr("ver", s)
	}
	mark := w.startEnd()
	if items >= 0 {
		ip := field(p, "items")
		if err := w.want(items, ip, jArr); err != nil {
			return err
		}
		i := 0
		for it := w.n[items].first; it >= 0; it, i = w.n[it].next, i+1 {
			if err := w.rosterItem(it, index(ip, i)); err != nil {
				return err
			}
		}
	}
	w.end(mark, "query")
	return nil
}

func (w *xmlWriter) rosterItem(v int32, p *path) *Error {
	if err := w.want(v, p, jObj); err != nil {
		return err
	}
	attrs := [4]int32{-1, -1, -1, -1}
	var approved, groups int32 = -1, -1
	err := w.members(v, p, "a roster item", func(key string, m int32) bool {
		switch key {
		case "jid":
			attrs[0] = m
		case "name":
			attrs[1] = m
		case "subscription":
			attrs[2] = m
		case "ask":
			attrs[3] = m
		case "approved":
			approved = m
		case "groups":
			groups = m
		default:
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	if err := w.open(p, "item", ""); err != nil {
		return err
	}
	for k, a := range attrs {
		if a >= 0 {
			s, err := w.str(a, field(p, rosterItemKeys[k]))
			if err != nil {
				return err
			}
			w.attr(rosterItemKeys[k], s)
		}
	}
	if approved >= 0 {
		switch w.n[approved].typ {
		case jTrue:
			w.attr("approved", "true")
		case jFalse:
			w.attr("approved", "false")
		default:
			return errAt(CodeBadValue, field(p, "approved"), "must be true or false")
		}
	}
	mark := w.startEnd()
	if groups >= 0 {
		gp := field(p, "groups")
		if err := w.want(groups, gp, jArr); err != nil {
			return err
		}
		i := 0
		for g := w.n[groups].first; g >= 0; g, i = w.n[g].next, i+1 {
			s, err := w.str(g, index(gp, i))
			if err != nil {
				return err
			}
			if err := w.leaf(p, "group", "", "", false, s); err != nil {
				return err
			}
		}
	}
	w.end(mark, "item")
	return nil
}

func (w *xmlWriter) stanzaError(v int32, p *path) *Error {
	if err := w.want(v, p, jObj); err != nil {
		return err
	}
	var typ, cond, text, textLang, by, code, app int32 = -1, -1, -1, -1, -1, -1, -1
	err := w.members(v, p, "an error", func(key string, m int32) bool {
		switch key {
		case "type":
			typ = m
		case "condition":
			cond = m
		case "text":
			text = m
		case "text_lang":
			textLang = m
		case "by":
			by = m
		case "code":
			code = m
		case "app":
			app = m
		default:
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	if cond < 0 {
		return errAt(CodeMissingField, field(p, "condition"), "an error has a condition")
	}
	if textLang >= 0 && text < 0 {
		return errAt(CodeMissingField, field(p, "text"), "text_lang needs text")
	}
	c, err := w.name(cond, field(p, "condition"))
	if err != nil {
		return err
	}
	if c == "text" {
		return errAt(CodeBadValue, field(p, "condition"), `"text" is not a condition`)
	}
	if err := w.open(p, "error", ""); err != nil {
		return err
	}
	for _, a := range [...]struct {
		v   int32
		key string
	}{{typ, "type"}, {by, "by"}, {code, "code"}} {
		if a.v >= 0 {
			s, err := w.str(a.v, field(p, a.key))
			if err != nil {
				return err
			}
			w.attr(a.key, s)
		}
	}
	mark := w.startEnd()
	if err := w.open(p, c, nsStanzas); err != nil {
		return err
	}
	w.end(w.startEnd(), c)
	if text >= 0 {
		s, err := w.str(text, field(p, "text"))
		if err != nil {
			return err
		}
		l, hasLang := "", textLang >= 0
		if hasLang {
			if l, err = w.str(textLang, field(p, "text_lang")); err != nil {
				return err
			}
		}
		if err := w.leaf(p, "text", nsStanzas, l, hasLang, s); err != nil {
			return err
		}
	}
	if app >= 0 {
		ap := field(p, "app")
		if err := w.want(app, ap, jObj); err != nil {
			return err
		}
		for m := w.n[app].first; m >= 0; m = w.n[m].next {
			if w.n[m].key == "xmlns" && w.n[m].typ == jStr && w.n[m].str == nsStanzas {
				return errAt(CodeBadValue, field(ap, "xmlns"), "an application condition is not in the stanza error namespace")
			}
		}
		if err := w.generic(app, ap, nsClient, nsClient); err != nil {
			return err
		}
	}
	w.end(mark, "error")
	return nil
}

// element writes a frame of kind "element".
func (w *xmlWriter) element(m int32) *Error {
	el := int32(-1)
	err := w.members(m, nil, `an "element" frame`, func(key string, v int32) bool {
		switch key {
		case "kind":
		case "element":
			el = v
		default:
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	p := field(nil, "element")
	if el < 0 {
		return errAt(CodeMissingField, p, `a frame of kind "element" has an element`)
	}
	if err := w.want(el, p, jObj); err != nil {
		return err
	}
	ns := nsClient
	for c := w.n[el].first; c >= 0; c = w.n[c].next {
		if w.n[c].key == "xmlns" && w.n[c].typ == jStr {
			ns = w.n[c].str
		}
	}
	if ns == nsClient {
		for c := w.n[el].first; c >= 0; c = w.n[c].next {
			if nd := &w.n[c]; nd.key == "name" && nd.typ == jStr && (nd.str == "message" || nd.str == "presence" || nd.str == "iq") {
				return errAt(CodeBadValue, field(p, "name"), "a stanza is sent with kind "+strconv.Quote(nd.str))
			}
		}
	}
	// The element must mean the same in any context, such as a stream
	// whose default namespace is jabber:client: no default namespace is
	// taken as in scope, so the element declares its own, even an empty one.
	return w.generic(el, p, nsClient, noDefault)
}

// noDefault is a namespace name no JSON string can hold (badChar rejects
// NUL), standing for "no default namespace declared yet".
const noDefault = "\x00"

// generic writes the element at m in the lossless form; parentNS is the
// parent's namespace (what an absent xmlns means) and defNS the default
// namespace in scope where it is written.
func (w *xmlWriter) generic(m int32, p *path, parentNS, defNS string) *Error {
	if err := w.want(m, p, jObj); err != nil {
		return err
	}
	var name, xmlns, attrs, children int32 = -1, -1, -1, -1
	err := w.members(m, p, "an element", func(key string, v int32) bool {
		switch key {
		case "name":
			name = v
		case "xmlns":
			xmlns = v
		case "attrs":
			attrs = v
		case "children":
			children = v
		default:
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	if name < 0 {
		return errAt(CodeMissingField, field(p, "name"), "an element has a name")
	}
	local, err := w.name(name, field(p, "name"))
	if err != nil {
		return err
	}
	ns := parentNS
	if xmlns >= 0 {
		if ns, err = w.str(xmlns, field(p, "xmlns")); err != nil {
			return err
		}
		if ns == nsXMLNS {
			return errAt(CodeBadValue, field(p, "xmlns"), "no element is in the xmlns namespace")
		}
	}
	qname, decl := local, false
	switch {
	case ns == nsXML:
		qname = "xml:" + local // the one namespace that cannot be the default
	case ns != defNS:
		decl, defNS = true, ns
	}
	if err := w.open(p, qname, ""); err != nil {
		return err
	}
	if decl {
		w.attr("xmlns", ns) // xmlns='' when ns is empty
	}
	if attrs >= 0 {
		if err := w.attrs(attrs, field(p, "attrs"), false); err != nil {
			return err
		}
	}
	mark := w.startEnd()
	if children >= 0 {
		if err := w.children(children, field(p, "children"), ns, defNS); err != nil {
			return err
		}
	}
	w.end(mark, qname)
	return nil
}

// children writes an array of strings (text) and objects (elements).
func (w *xmlWriter) children(v int32, p *path, parentNS, defNS string) *Error {
	if err := w.want(v, p, jArr); err != nil {
		return err
	}
	i := 0
	for c := w.n[v].first; c >= 0; c, i = w.n[c].next, i+1 {
		if err := w.child(c, index(p, i), parentNS, defNS); err != nil {
			return err
		}
	}
	return nil
}

// child writes one entry of such an array.
func (w *xmlWriter) child(c int32, p *path, parentNS, defNS string) *Error {
	switch w.n[c].typ {
	case jStr:
		s, err := w.str(c, p)
		if err != nil {
			return err
		}
		w.text(s)
		return nil
	case jObj:
		return w.generic(c, p, parentNS, defNS)
	}
	return errAt(CodeBadValue, p, "must be a string or an object, not "+w.n[c].typ.String())
}

// attrs writes the attributes of the object at v. Keys are a name in no
// namespace, "xml:" and a name, or "{namespace}" and a name; a namespace is
// given a prefix ns1, ns2, ... declared on the same start tag. On a stanza
// the attributes that have fields of their own are not allowed here.
func (w *xmlWriter) attrs(v int32, p *path, stanza bool) *Error {
	if err := w.want(v, p, jObj); err != nil {
		return err
	}
	w.pfx = w.pfx[:0]
	var big map[string]int
	for c := w.n[v].first; c >= 0; c = w.n[c].next {
		nd := &w.n[c]
		if nd.badKey {
			return errAt(CodeBadValue, p, "an attribute name is not valid Unicode")
		}
		if nd.typ == jNull {
			continue
		}
		key := nd.key
		ap := field(p, key)
		value, err := w.str(c, ap)
		if err != nil {
			return err
		}
		var ns, local string
		switch {
		case strings.HasPrefix(key, "{"):
			end := strings.LastIndexByte(key, '}')
			if end < 0 {
				return errAt(CodeBadValue, ap, "a namespaced attribute is written {namespace}name")
			}
			ns, local = key[1:end], key[end+1:]
			switch {
			case ns == "":
				return errAt(CodeBadValue, ap, "an attribute in no namespace is written without {}")
			case ns == nsXML:
				return errAt(CodeBadValue, ap, "an attribute in the xml namespace is written xml:name")
			case ns == nsXMLNS:
				return errAt(CodeBadValue, ap, "namespace declarations are not attributes here")
			case xmlsplit.InvalidChar(ns) >= 0:
				return errAt(CodeBadValue, ap, "the namespace has a character XML does not allow")
			}
		case strings.HasPrefix(key, "xml:"):
			ns, local = nsXML, key[4:]
		default:
			local = key
		}
		if !xmlsplit.IsNCName(local) {
			return errAt(CodeBadValue, ap, strconv.Quote(key)+" is not an attribute name")
		}
		if ns == "" && local == "xmlns" {
			return errAt(CodeBadValue, ap, "namespace declarations are not attributes here")
		}
		if stanza && (ns == "" && (local == "id" || local == "type" || local == "from" || local == "to") || ns == nsXML && local == "lang") {
			return errAt(CodeBadValue, ap, "has a field of its own")
		}
		switch ns {
		case "":
			w.attr(local, value)
			continue
		case nsXML:
			w.attr(key, value)
			continue
		}
		k := -1
		if big != nil {
			if i, ok := big[ns]; ok {
				k = i
			}
		} else {
			for i, u := range w.pfx {
				if u == ns {
					k = i
					break
				}
			}
		}
		prefix := ""
		if k < 0 {
			w.pfx = append(w.pfx, ns)
			k = len(w.pfx) - 1
			prefix = "ns" + strconv.Itoa(k+1)
			w.attr("xmlns:"+prefix, ns)
			if big == nil && len(w.pfx) > 8 {
				big = make(map[string]int)
				for i, u := range w.pfx {
					big[u] = i
				}
			} else if big != nil {
				big[ns] = k
			}
		} else {
			prefix = "ns" + strconv.Itoa(k+1)
		}
		w.attr(prefix+":"+local, value)
	}
	return nil
}
