package jsonxlate

// A friendlyField is one friendly field of a stanza (docs/json.md): a
// member of its JSON object that stands for a child element of one kind,
// such as "body" for <body>text</body>. Each kind of stanza lists its
// fields in a table (message, presence, iq) in their fixed order: the order
// in which AppendXML writes their children when the object has no "order",
// and in which AppendJSON writes the members. The table is all that ties
// the two directions of a field together.
type friendlyField struct {
	name string // the member

	// ns and local are the expanded name of the children the field can
	// stand for; local is empty when fits takes several names (the chat
	// states, the two directions of a carbon).
	ns, local string

	// list: the member is an array with an entry {"lang", "text"} for
	// each child <local xml:lang='…'>text</local> (subjects, bodies,
	// statuses). Such a field has no toJSON or toXML: every list is
	// written by langTextEntry and langEntry.
	list bool

	// with names a second member that belongs to the field's child
	// without standing for one of its own: "thread_parent", the parent
	// attribute of <thread/>. toJSON writes it, toXML is given it, and it
	// may not be there without the field.
	with string

	// falseIsNone: the member may be false, which stands for no child
	// ("receipt_request": false).
	falseIsNone bool

	// fits reports whether the child element at idx, whose expanded name
	// matched, can be shown as the field: whether its JSON gives back the
	// same element. The first child that fits a field is shown as it (each
	// one that fits, for a list); the others stay in payload.
	fits func(c *toJSON, idx int32) bool

	// toJSON writes the member's value for the child at idx (the caller
	// has written the member's name), then the with member if the child
	// has it.
	toJSON func(c *toJSON, dst []byte, idx int32) []byte

	// toXML writes the child for the member's value v; with is the with
	// member, -1 when absent. p is the path of the object that holds the
	// member (the stanza, or a carbon for its delay), not of the member:
	// each function makes its member's path itself, since a path handed
	// through a function value would go to the heap on every call.
	toXML func(w *xmlWriter, v, with int32, p *path) *Error
}

// maxFields bounds the friendly fields of one kind of stanza, so that a
// conversion keeps its bookkeeping in fixed arrays and bit masks.
const maxFields = 16

// A stanzaKind is message, presence or iq: the stanzas with friendly
// fields.
type stanzaKind struct {
	name   string // the element's local name and the object's "kind"
	what   string // "a message", for errors
	fields []friendlyField
}

// fieldIndex returns the index of the friendly field of k named name, or
// -1.
func (k *stanzaKind) fieldIndex(name string) int {
	for i := range k.fields {
		if k.fields[i].name == name {
			return i
		}
	}
	return -1
}

// stanza writes the object for the stanza at idx, of the given kind.
func (c *toJSON) stanza(dst []byte, idx int32, kind *stanzaKind) []byte {
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
	// "order": the fields in the order of kind.fields, then payload.
	var taken uint32 // bit i: kind.fields[i] has its child
	last, inPayload, reordered := 0, false, false
	for ch := n.first; ch >= 0; ch = t.nodes[ch].next {
		i := -1
		if t.nodes[ch].isText() {
			if c.spaceText(ch) {
				c.cls[ch] = clsSpace
				continue
			}
		} else if i = c.classify(kind, ch); i >= 0 && taken&(1<<i) != 0 && !kind.fields[i].list {
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
		f := &kind.fields[i]
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
		dst = c.order(dst, kind, idx)
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

var stanzaAttrKeys = [...]string{`,"id":`, `,"type":`, `,"from":`, `,"to":`, `,"lang":`}

// classify returns the index of the friendly field of kind that the
// child element at idx can be shown as, or -1.
func (c *toJSON) classify(kind *stanzaKind, idx int32) int {
	n := &c.t.nodes[idx]
	for i := range kind.fields {
		f := &kind.fields[i]
		if string(n.ns) == f.ns && (f.local == "" || string(n.local) == f.local) && f.fits(c, idx) {
			return i
		}
	}
	return -1
}

// stanzaMembers holds the members of a stanza object, -1 when absent.
type stanzaMembers struct {
	kind, id, typ, from, to, lang, attrs, payload, order int32

	child [maxFields]int32 // the member of each friendly field, by index
	with  [maxFields]int32 // the member named by each field's with
}

// stanza writes the object at m as a stanza of the given kind.
func (w *xmlWriter) stanza(m int32, kind *stanzaKind, p *path) *Error {
	f := stanzaMembers{kind: -1, id: -1, typ: -1, from: -1, to: -1, lang: -1, attrs: -1, payload: -1, order: -1}
	for i := range f.child {
		f.child[i], f.with[i] = -1, -1
	}
	err := w.members(m, p, kind.what, func(key string, v int32) bool {
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
			for i := range kind.fields {
				if kind.fields[i].name == key {
					slot = &f.child[i]
					break
				}
				if kind.fields[i].with == key && key != "" {
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
	// AppendXML chose kind by this member; the message of a carbon may
	// leave it out.
	if f.kind >= 0 && (w.n[f.kind].typ != jStr || w.n[f.kind].str != kind.name) {
		return errAt(CodeBadValue, field(p, "kind"), `must be "`+kind.name+`" or absent`)
	}
	for i := range kind.fields {
		if f.with[i] >= 0 && f.child[i] < 0 {
			return errAt(CodeMissingField, field(p, kind.fields[i].name), kind.fields[i].with+" needs "+kind.fields[i].name)
		}
	}

	if err := w.open(p, kind.name, nsClient); err != nil {
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
		if err := w.ordered(&f, kind, p); err != nil {
			return err
		}
		w.end(mark, kind.name)
		return nil
	}

	// Without "order": the friendly children in the order of kind.fields,
	// then payload.
	for i, v := range f.child[:len(kind.fields)] {
		if v < 0 {
			continue
		}
		fl := &kind.fields[i]
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
	w.end(mark, kind.name)
	return nil
}

// writesChild reports whether the friendly field fl, whose member is v
// (-1 when absent), writes a child: all do when present, but one whose
// falseIsNone is set does not when false.
func (w *xmlWriter) writesChild(fl *friendlyField, v int32) bool {
	return v >= 0 && !(fl.falseIsNone && w.n[v].typ == jFalse)
}
