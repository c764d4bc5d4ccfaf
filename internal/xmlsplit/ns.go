package xmlsplit

import "bytes"

// Namespace names with fixed meanings (XML Namespaces 1.0 §3, RFC 6120).
const (
	nsXML     = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS   = "http://www.w3.org/2000/xmlns/"
	nsStreams = "http://etherx.jabber.org/streams"
)

// binding is a namespace declaration inside the item.
type binding struct {
	prefix  span // empty for the default namespace
	value   span
	amp     bool
	depth   int   // of the element declaring it; the top-level element is 1
	prev    int32 // earlier binding of the same prefix, while index is kept
	kidMark int   // kidSeq of the last child that borrowed it
}

// ctxBinding is a prefix bound outside the item: by the stream header for a
// Splitter, by ParseOptions.Context for Parse (known is false then: the
// namespace name is not given).
type ctxBinding struct {
	prefix  []byte
	ns      []byte
	known   bool
	topMark int
	kidMark int
}

// nsRef says where a prefix is bound.
type nsRef struct {
	kind uint8
	i    int
}

const (
	refXML uint8 = iota
	refItem
	refCtx
)

type attrRef struct {
	attr int
	ns   nsRef
}

// Past these lengths lookups go through a map, so a flood of declarations
// cannot make each lookup slow.
const (
	indexBinds  = 32
	pairwiseMax = 16
)

// startTag checks the start tag just scanned (s.tag, s.attrs) for the rules
// of XML and XML Namespaces that need the whole tag, records what the
// results need and opens the element. end is just past its '>'.
func (s *scanner) startTag(end int, selfClosing bool) status {
	b := s.b
	d := len(s.stack) + 1
	if d > s.maxDepth {
		if r := s.fault(PolicyViolation, s.tagStart, "elements nested deeper than "+itoa(s.maxDepth)); r != cont {
			return r
		}
	}
	attrs := s.attrs
	if s.maybeDup {
		if i := s.duplicate(); i >= 0 {
			if r := s.fault(NotWellFormed, attrs[i].name.start, "duplicate attribute "+quote(b[attrs[i].name.start:attrs[i].name.end])); r != cont {
				return r
			}
		}
	}
	nbind := len(s.binds)
	declDefault := false
	prefixed := 0
	for i := range attrs {
		a := &attrs[i]
		if a.colon < 0 {
			if string(b[a.name.start:a.name.end]) == "xmlns" {
				declDefault = true
				if v := s.valueOf(a); string(v) == nsXML || string(v) == nsXMLNS {
					if r := s.fault(NotWellFormed, a.value.start, "the default namespace must not be "+quote(v)); r != cont {
						return r
					}
				}
				s.push(span{a.name.start, a.name.start}, a, d)
			}
			continue
		}
		if string(b[a.name.start:a.colon]) != "xmlns" {
			prefixed++
			continue
		}
		local := b[a.colon+1 : a.name.end]
		if string(local) == "xmlns" {
			if r := s.fault(NotWellFormed, a.name.start, "the prefix xmlns must not be declared"); r != cont {
				return r
			}
			continue
		}
		if a.value.start == a.value.end {
			if r := s.fault(NotWellFormed, a.name.start, "the prefix "+quote(local)+" must not be bound to the empty namespace name"); r != cont {
				return r
			}
			continue
		}
		v := s.valueOf(a)
		if isXML := string(v) == nsXML; isXML != (string(local) == "xml") {
			if r := s.fault(NotWellFormed, a.name.start, "only the prefix xml may be bound to "+nsXML+", and only to it"); r != cont {
				return r
			}
		}
		if string(v) == nsXMLNS {
			if r := s.fault(NotWellFormed, a.name.start, "no prefix may be bound to "+nsXMLNS); r != cont {
				return r
			}
		}
		s.push(span{a.colon + 1, a.name.end}, a, d)
	}

	kid := d == 2 && s.children
	var kidBorrowed int
	if kid {
		s.kidSeq++
		kidBorrowed = len(s.kidBorrowed)
	}
	if s.tagColon >= 0 {
		p := span{s.tag.start, s.tagColon}
		var r status
		if string(b[p.start:p.end]) == "xmlns" {
			r = s.fault(NotWellFormed, s.tag.start, "element names must not have the prefix xmlns")
		} else if _, ok := s.resolve(p, d); !ok {
			r = s.fault(NotWellFormed, s.tag.start, "undeclared namespace prefix "+quote(b[p.start:p.end]))
		}
		if r != cont {
			return r
		}
	}
	if prefixed > 0 {
		s.refs = s.refs[:0]
		for i := range attrs {
			a := &attrs[i]
			if a.colon < 0 || string(b[a.name.start:a.colon]) == "xmlns" {
				continue
			}
			ref, ok := s.resolve(span{a.name.start, a.colon}, d)
			if !ok {
				if r := s.fault(NotWellFormed, a.name.start, "undeclared namespace prefix "+quote(b[a.name.start:a.colon])); r != cont {
					return r
				}
				continue
			}
			s.refs = append(s.refs, attrRef{i, ref})
		}
		if len(s.refs) > 1 {
			if i := s.duplicateExpanded(); i >= 0 {
				if r := s.fault(NotWellFormed, attrs[i].name.start, "attribute "+quote(b[attrs[i].name.start:attrs[i].name.end])+" duplicates the expanded name of another"); r != cont {
					return r
				}
			}
		}
	}

	switch {
	case d == 1:
		t := &s.top
		t.start, t.end, t.name, t.declDefault, t.selfClosing = s.tagStart, end, s.tag, declDefault, selfClosing
		s.topAttrs = append(s.topAttrs[:0], attrs...)
		if s.stream {
			if f := s.elemFault; f != nil && (!s.streamOpen || s.needHeader || s.isHeader()) {
				// Tolerated only in a stanza: fail as a strict scanner
				// would have.
				return s.fail(f.Cond, f.Offset, f.Msg)
			}
			if s.isHeader() {
				if selfClosing {
					return s.fail(NotWellFormed, s.tagStart, "the stream header must not be an empty-element tag")
				}
				return doneOpen
			}
			if !s.streamOpen || s.needHeader {
				return s.fail(NotWellFormed, s.tagStart, "element "+quote(b[s.tag.start:s.tag.end])+" where a stream header must come")
			}
		}
	case kid:
		s.kids = append(s.kids, elemRec{
			start:       s.tagStart,
			end:         end,
			name:        s.tag,
			declDefault: declDefault,
			selfClosing: selfClosing,
			attrs:       span{len(s.kidAttrs), len(s.kidAttrs) + len(attrs)},
			borrowed:    span{kidBorrowed, len(s.kidBorrowed)},
		})
		s.kidAttrs = append(s.kidAttrs, attrs...)
	}

	if selfClosing {
		s.popBinds(nbind)
		if d == 1 {
			return doneElement
		}
	} else {
		s.stack = append(s.stack, frame{})
		f := &s.stack[len(s.stack)-1]
		f.name, f.nbind = s.tag, nbind
	}
	s.st, s.runStart = stContent, end
	return cont
}

// valueOf returns an attribute's value with references decoded.
func (s *scanner) valueOf(a *attrSpan) []byte {
	return s.decoded(s.b[a.value.start:a.value.end], a.amp)
}

func (s *scanner) decoded(raw []byte, amp bool) []byte {
	if !amp {
		return raw
	}
	v, err := Unescape(nil, raw) // only on the rare values with references
	if err != nil {
		return raw
	}
	return v
}

// isHeader reports whether the top-level start tag is a stream header: its
// local name is "stream" and its namespace the streams namespace.
func (s *scanner) isHeader() bool {
	b := s.b
	local, prefix := b[s.tag.start:s.tag.end], span{s.tag.start, s.tag.start}
	if s.tagColon >= 0 {
		local, prefix = b[s.tagColon+1:s.tag.end], span{s.tag.start, s.tagColon}
	}
	if string(local) != "stream" {
		return false
	}
	ns, ok := s.namespace(s.lookupAny(b[prefix.start:prefix.end]))
	return ok && string(ns) == nsStreams
}

// lookupAny finds a prefix's binding in the item, then in the context.
func (s *scanner) lookupAny(prefix []byte) nsRef {
	if i := s.lookup(prefix); i >= 0 {
		return nsRef{refItem, i}
	}
	if i := s.lookupCtx(prefix); i >= 0 {
		return nsRef{refCtx, i}
	}
	return nsRef{kind: refCtx, i: -1}
}

// namespace returns the namespace name ref stands for, and false when it is
// not known.
func (s *scanner) namespace(ref nsRef) ([]byte, bool) {
	switch ref.kind {
	case refXML:
		return []byte(nsXML), true
	case refItem:
		bd := &s.binds[ref.i]
		return s.decoded(s.b[bd.value.start:bd.value.end], bd.amp), true
	}
	if ref.i < 0 || !s.ctx[ref.i].known {
		return nil, false
	}
	return s.ctx[ref.i].ns, true
}

// resolve finds the binding of a prefix used on an element at depth d, and
// records it as borrowed when it comes from outside the top-level element
// or, for children Parse describes, from outside the child.
func (s *scanner) resolve(p span, d int) (nsRef, bool) {
	prefix := s.b[p.start:p.end]
	if string(prefix) == "xml" {
		return nsRef{kind: refXML}, true
	}
	if i := s.lookup(prefix); i >= 0 {
		if bd := &s.binds[i]; d >= 2 && bd.depth < 2 && s.children && bd.kidMark != s.kidSeq {
			bd.kidMark = s.kidSeq
			s.kidBorrowed = append(s.kidBorrowed, p)
		}
		return nsRef{refItem, i}, true
	}
	i := s.lookupCtx(prefix)
	if i < 0 {
		return nsRef{}, false
	}
	c := &s.ctx[i]
	if c.topMark != s.seq {
		c.topMark = s.seq
		s.topBorrowed = append(s.topBorrowed, p)
	}
	if d >= 2 && s.children && c.kidMark != s.kidSeq {
		c.kidMark = s.kidSeq
		s.kidBorrowed = append(s.kidBorrowed, p)
	}
	return nsRef{refCtx, i}, true
}

func (s *scanner) lookup(prefix []byte) int {
	if s.index != nil {
		if i, ok := s.index[string(prefix)]; ok {
			return int(i)
		}
		return -1
	}
	for i := len(s.binds) - 1; i >= 0; i-- {
		bd := &s.binds[i]
		if string(s.b[bd.prefix.start:bd.prefix.end]) == string(prefix) {
			return i
		}
	}
	return -1
}

func (s *scanner) lookupCtx(prefix []byte) int {
	if s.cindx != nil {
		if i, ok := s.cindx[string(prefix)]; ok {
			return int(i)
		}
		return -1
	}
	for i := len(s.ctx) - 1; i >= 0; i-- {
		if string(s.ctx[i].prefix) == string(prefix) {
			return i
		}
	}
	return -1
}

// setContext replaces the bindings from outside the item.
func (s *scanner) setContext(ctx []ctxBinding) {
	s.ctx = ctx
	s.cindx = nil
	if len(ctx) > indexBinds {
		s.cindx = make(map[string]int32, len(ctx))
		for i := range ctx {
			s.cindx[string(ctx[i].prefix)] = int32(i)
		}
	}
}

// push adds the declaration of prefix made by attribute a of an element at
// depth d.
func (s *scanner) push(prefix span, a *attrSpan, d int) {
	s.binds = append(s.binds, binding{})
	bd := &s.binds[len(s.binds)-1]
	bd.prefix, bd.value, bd.amp, bd.depth, bd.prev = prefix, a.value, a.amp, d, -1
	if s.index != nil {
		key := s.b[prefix.start:prefix.end]
		if j, ok := s.index[string(key)]; ok {
			bd.prev = j
		}
		s.index[string(key)] = int32(len(s.binds) - 1)
	}
	if s.index == nil && len(s.binds) > indexBinds {
		s.index = make(map[string]int32, 2*len(s.binds))
		for i := range s.binds {
			key := string(s.b[s.binds[i].prefix.start:s.binds[i].prefix.end])
			s.binds[i].prev = -1
			if j, ok := s.index[key]; ok {
				s.binds[i].prev = j
			}
			s.index[key] = int32(i)
		}
	}
}

// popBinds drops the bindings from n on.
func (s *scanner) popBinds(n int) {
	if s.index != nil {
		for i := len(s.binds) - 1; i >= n; i-- {
			bd := &s.binds[i]
			key := s.b[bd.prefix.start:bd.prefix.end]
			if bd.prev < 0 {
				delete(s.index, string(key))
			} else {
				s.index[string(key)] = bd.prev
			}
		}
	}
	s.binds = s.binds[:n]
}

// duplicate returns the index of an attribute whose name an earlier one has,
// or -1.
func (s *scanner) duplicate() int {
	b, attrs := s.b, s.attrs
	if len(attrs) <= pairwiseMax {
		for i := 1; i < len(attrs); i++ {
			ni := b[attrs[i].name.start:attrs[i].name.end]
			for j := 0; j < i; j++ {
				if string(b[attrs[j].name.start:attrs[j].name.end]) == string(ni) {
					return i
				}
			}
		}
		return -1
	}
	seen := make(map[string]struct{}, len(attrs))
	for i := range attrs {
		name := string(b[attrs[i].name.start:attrs[i].name.end])
		if _, ok := seen[name]; ok {
			return i
		}
		seen[name] = struct{}{}
	}
	return -1
}

// duplicateExpanded returns the index of a prefixed attribute whose
// namespace and local name an earlier one has under another prefix, or -1.
func (s *scanner) duplicateExpanded() int {
	b, attrs, refs := s.b, s.attrs, s.refs
	local := func(r attrRef) []byte { return b[attrs[r.attr].colon+1 : attrs[r.attr].name.end] }
	if len(refs) <= pairwiseMax {
		for i := 1; i < len(refs); i++ {
			for j := 0; j < i; j++ {
				if bytes.Equal(local(refs[i]), local(refs[j])) && s.sameNS(refs[i].ns, refs[j].ns) {
					return refs[i].attr
				}
			}
		}
		return -1
	}
	seen := make(map[string]struct{}, len(refs))
	for _, r := range refs {
		ns, ok := s.namespace(r.ns)
		if !ok {
			ns = []byte("\x00" + itoa(r.ns.i))
		}
		key := string(ns) + "\x00" + string(local(r))
		if _, ok := seen[key]; ok {
			return r.attr
		}
		seen[key] = struct{}{}
	}
	return -1
}

func (s *scanner) sameNS(x, y nsRef) bool {
	if x == y {
		return true
	}
	nx, okx := s.namespace(x)
	ny, oky := s.namespace(y)
	return okx && oky && bytes.Equal(nx, ny)
}
