package xmlsplit

import "sync"

// scratch is the space a Splitter reuses from item to item: the scanner's
// work lists and the Attrs and Borrowed slices of the items it returns.
type scratch struct {
	attrs       []attrSpan
	stack       []frame
	binds       []binding
	refs        []attrRef
	topAttrs    []attrSpan
	topBorrowed []span
	kids        []elemRec
	kidAttrs    []attrSpan
	kidBorrowed []span
	outAttrs    []Attr
	outBorrowed [][]byte
}

// scratchPool holds the scratch space of trimmed Splitters.
var scratchPool sync.Pool

// Trim lends the scratch space the Splitter keeps between items to a pool
// shared by all Splitters, keeping the stream's context; the next Split
// borrows some back. Call it when the Splitter will wait a while, as before
// an idle connection parks: thousands of idle Splitters then hold none.
// It does nothing while an item is partial. Like Split, it invalidates the
// Attrs and Borrowed of the last item returned.
func (s *Splitter) Trim() {
	if s.partial || s.trimmed {
		return
	}
	sc := &s.sc
	sp := s.spare
	if sp == nil {
		sp = new(scratch)
	}
	*sp = scratch{
		attrs: sc.attrs[:0], stack: sc.stack[:0], binds: sc.binds[:0], refs: sc.refs[:0],
		topAttrs: sc.topAttrs[:0], topBorrowed: sc.topBorrowed[:0],
		kids: sc.kids[:0], kidAttrs: sc.kidAttrs[:0], kidBorrowed: sc.kidBorrowed[:0],
		outAttrs: s.attrs[:0], outBorrowed: s.borrowed[:0],
	}
	sc.attrs, sc.stack, sc.binds, sc.refs = nil, nil, nil, nil
	sc.topAttrs, sc.topBorrowed = nil, nil
	sc.kids, sc.kidAttrs, sc.kidBorrowed = nil, nil, nil
	s.attrs, s.borrowed = nil, nil
	s.spare, s.trimmed = nil, true
	scratchPool.Put(sp)
}

// untrim takes scratch space from the pool after Trim, if it has some;
// otherwise the lists grow again as items need them.
func (s *Splitter) untrim() {
	s.trimmed = false
	sp, _ := scratchPool.Get().(*scratch)
	if sp == nil {
		return
	}
	sc := &s.sc
	sc.attrs, sc.stack, sc.binds, sc.refs = sp.attrs, sp.stack, sp.binds, sp.refs
	sc.topAttrs, sc.topBorrowed = sp.topAttrs, sp.topBorrowed
	sc.kids, sc.kidAttrs, sc.kidBorrowed = sp.kids, sp.kidAttrs, sp.kidBorrowed
	s.attrs, s.borrowed = sp.outAttrs, sp.outBorrowed
	*sp = scratch{}
	s.spare = sp
}
