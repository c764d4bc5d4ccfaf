package xmlsplit

import "sync"

var scanners = sync.Pool{New: func() any { return new(scanner) }}

// Parse checks that b holds exactly one well-formed element, optionally
// surrounded by whitespace, and describes it. No XML declaration is
// accepted. Errors are *SyntaxError with Offset into b.
//
// The result's slices alias b; Attrs, Borrowed and Children are allocated
// for the result and belong to the caller.
func Parse(b []byte, opt ParseOptions) (Element, error) {
	start := skipSpace(b, 0)
	if start == len(b) {
		return Element{}, &SyntaxError{Cond: NotWellFormed, Offset: start, Msg: "no element"}
	}
	if b[start] != '<' {
		return Element{}, &SyntaxError{Cond: NotWellFormed, Offset: start, Msg: "text outside the element"}
	}
	s := scanners.Get().(*scanner)
	defer s.release()
	s.b = b[start:]
	s.begin()
	s.maxDepth = opt.maxDepth()
	s.stream, s.streamOpen, s.needHeader = false, false, false
	s.children = opt.Children
	s.tolerant = false
	ctx := s.ctxStore[:0]
	for _, p := range opt.Context {
		ctx = append(ctx, ctxBinding{prefix: p})
	}
	s.ctxStore = ctx
	s.setContext(ctx)

	maxBytes := opt.maxBytes()
	switch s.run(min(len(s.b), maxBytes)) {
	case failed:
		return Element{}, &SyntaxError{Cond: s.errCond, Offset: start + s.errOff, Msg: s.errMsg}
	case needMore:
		if len(s.b) > maxBytes {
			return Element{}, tooLarge(start+maxBytes, maxBytes)
		}
		return Element{}, &SyntaxError{Cond: NotWellFormed, Offset: len(b), Msg: "unexpected end of input"}
	}
	end := start + s.pos
	if i := skipSpace(b, end); i < len(b) {
		cond := NotWellFormed
		if b[i] == '<' && i+1 < len(b) && (b[i+1] == '?' || b[i+1] == '!') {
			cond = RestrictedXML
		}
		return Element{}, &SyntaxError{Cond: cond, Offset: i, Msg: "more than one element, or text after the element"}
	}
	return s.result(b[start:end]), nil
}

func tooLarge(off, max int) *SyntaxError {
	return &SyntaxError{Cond: PolicyViolation, Offset: off, Msg: "element larger than " + itoa(max) + " bytes"}
}

// result builds Parse's answer, in three allocations at most.
func (s *scanner) result(raw []byte) Element {
	var attrs []Attr
	if n := len(s.topAttrs) + len(s.kidAttrs); n > 0 {
		attrs = make([]Attr, 0, n)
		attrs = appendAttrs(attrs, raw, s.topAttrs)
		attrs = appendAttrs(attrs, raw, s.kidAttrs)
	}
	var borrowed [][]byte
	if n := len(s.topBorrowed) + len(s.kidBorrowed); n > 0 {
		borrowed = make([][]byte, 0, n)
		borrowed = appendSpans(borrowed, raw, s.topBorrowed)
		borrowed = appendSpans(borrowed, raw, s.kidBorrowed)
	}
	nt, nb := len(s.topAttrs), len(s.topBorrowed)
	el := element(raw, &s.top, sub(attrs, 0, nt), sub(borrowed, 0, nb))
	if len(s.kids) > 0 {
		el.Children = make([]Element, len(s.kids))
		for i := range s.kids {
			k := &s.kids[i]
			el.Children[i] = element(raw, k, sub(attrs, nt+k.attrs.start, nt+k.attrs.end), sub(borrowed, nb+k.borrowed.start, nb+k.borrowed.end))
		}
	}
	return el
}

func element(raw []byte, r *elemRec, attrs []Attr, borrowed [][]byte) Element {
	return Element{
		Raw:             raw[r.start:r.end:r.end],
		Name:            raw[r.name.start:r.name.end:r.name.end],
		NSAt:            r.name.end - r.start,
		DeclaresDefault: r.declDefault,
		Borrowed:        borrowed,
		Attrs:           attrs,
		SelfClosing:     r.selfClosing,
	}
}

// sub returns x[i:j:j], or nil when that is empty.
func sub[T any](x []T, i, j int) []T {
	if i == j {
		return nil
	}
	return x[i:j:j]
}

func appendAttrs(dst []Attr, raw []byte, src []attrSpan) []Attr {
	n := len(dst)
	dst = append(dst, make([]Attr, len(src))...)
	for i := range src {
		a, d := &src[i], &dst[n+i]
		d.Name = raw[a.name.start:a.name.end:a.name.end]
		d.Value = raw[a.value.start:a.value.end:a.value.end]
	}
	return dst
}

func appendSpans(dst [][]byte, raw []byte, src []span) [][]byte {
	for _, p := range src {
		dst = append(dst, raw[p.start:p.end:p.end])
	}
	return dst
}

// release returns a scanner to the pool without the caller's bytes, unless
// hostile input made it large.
func (s *scanner) release() {
	s.b = nil
	clear(s.ctxStore)
	s.setContext(nil)
	s.index = nil
	if cap(s.attrs)+cap(s.binds)+cap(s.stack)+cap(s.kids)+cap(s.kidAttrs) > 4096 {
		return
	}
	scanners.Put(s)
}

// Attr returns the raw value of the start-tag attribute with the given
// qualified name.
func (e *Element) Attr(name string) (value []byte, ok bool) {
	for i := range e.Attrs {
		if string(e.Attrs[i].Name) == name {
			return e.Attrs[i].Value, true
		}
	}
	return nil, false
}
