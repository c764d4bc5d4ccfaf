package xmlsplit

import "bytes"

// Splitter splits an XMPP stream (RFC 6120 §4) into stream headers,
// top-level elements and the stream end. Its zero value is ready to use,
// with Limits' defaults.
type Splitter struct {
	Limits
	// Tolerant keeps the stream going past an element that is well-formed
	// XML but breaks a rule that concerns that element alone: XML
	// Namespaces (an undeclared prefix, a reserved namespace declared
	// wrongly), unique attribute names, MaxDepth. Split then returns the
	// element with Item.Fault set instead of failing; the caller decides
	// what to do with it (Repair, or skip it). For a reader of what a
	// server relays from third parties, whose one odd stanza must not end
	// the stream. Stream headers are never tolerated.
	Tolerant bool

	sc        scanner
	partial   bool // sc (or the declaration check) holds an item begun at buf[0] in an earlier call
	decl      bool // the partial item is an XML declaration
	declPos   int  // how far the partial declaration was checked
	afterDecl bool // an XML declaration was consumed: a stream header must follow
	err       *SyntaxError

	attrs    []Attr
	borrowed [][]byte

	spare   *scratch // the holder of the scratch space last borrowed (trim.go)
	trimmed bool     // Trim lent the scratch space out
}

// Split looks for the next item at the start of buf, which holds all bytes
// not yet consumed. It returns the item and how many bytes it consumed
// (whitespace before the item included). n == 0 with a nil error means buf
// holds no complete item yet: call again with more bytes appended.
// Whitespace alone is consumed without an item (Kind 0, n > 0), and so are
// whitespace and an XML declaration before an item that is not complete yet.
//
// The Splitter remembers how far it scanned a partial item, so the total
// cost stays linear when a large element arrives in many pieces, as long as
// the caller passes the same unconsumed bytes again with more appended (the
// buffer may move). An element over MaxBytes is a PolicyViolation error as
// soon as more than MaxBytes of it are buffered.
//
// An optional XML declaration may precede a stream header. A stream header
// is an element whose local name is "stream" in the namespace
// http://etherx.jabber.org/streams, whatever its prefix; the stream's end
// tag must repeat its qualified name. A new stream header is accepted at
// stream level at any time (a restart) and replaces the namespace context.
// A top-level element may use prefixes bound by the current stream header;
// any other undeclared prefix is NotWellFormed. So is an element before the
// first stream header, and text other than whitespace at stream level.
//
// The Element of a KindOpen item holds only the start tag; that of a
// KindClose item has Raw and Name set to the end tag and its name. Its byte
// slices alias buf. Its Attrs and Borrowed are kept in the Splitter and stay
// valid only until the next call of Split or Reset.
//
// After an error the stream cannot be followed any further: Split returns
// the same error until Reset.
func (s *Splitter) Split(buf []byte) (it Item, n int, err error) {
	if s.err != nil {
		return Item{}, 0, s.err
	}
	if s.trimmed {
		s.untrim()
	}
	maxBytes := s.maxBytes()
	if s.partial && (len(buf) == 0 || buf[0] != '<' || s.decl && len(buf) < s.declPos || !s.decl && len(buf) < s.sc.pos) {
		// Not the bytes of the partial item: start over.
		s.partial = false
	}
	i := 0
	for {
		if !s.partial {
			i = skipSpace(buf, i)
			if i == len(buf) {
				return Item{}, i, nil
			}
			if buf[i] != '<' {
				return s.fail(NotWellFormed, i, "text at stream level")
			}
			if i+1 == len(buf) {
				return Item{}, i, nil
			}
			s.decl = buf[i+1] == '?'
			if s.decl {
				if s.afterDecl {
					return s.fail(NotWellFormed, i, "XML declaration where a stream header must come")
				}
				s.declPos = 0
			} else {
				s.sc.begin()
				s.sc.stream = true
				s.sc.tolerant = s.Tolerant
				s.sc.needHeader = s.afterDecl
				s.sc.maxDepth = s.maxDepth()
			}
			s.partial = true
		}
		item := buf[i:]
		if s.decl {
			n, err := s.declaration(item, maxBytes)
			if err != nil {
				err.Offset += i
				s.err = err
				return Item{}, 0, err
			}
			if n == 0 {
				return Item{}, i, nil
			}
			s.partial, s.decl, s.afterDecl = false, false, true
			i += n
			continue
		}

		s.sc.b = item
		r := s.sc.run(min(len(item), maxBytes))
		if r == needMore || r == failed {
			s.sc.b = nil
		}
		switch r {
		case needMore:
			if len(item) > maxBytes {
				s.err = tooLarge(i+maxBytes, maxBytes)
				return Item{}, 0, s.err
			}
			return Item{}, i, nil
		case failed:
			return s.fail(s.sc.errCond, i+s.sc.errOff, s.sc.errMsg)
		}
		s.partial, s.afterDecl = false, false
		switch r {
		case doneElement:
			it = Item{Kind: KindElement, Element: s.element(item)}
			if f := s.sc.elemFault; f != nil {
				f.Offset += i
				it.Fault = f
			}
		case doneOpen:
			it = Item{Kind: KindOpen, Element: s.element(item)}
			s.open(item)
		case doneClose:
			end := s.sc.pos
			name := item[2 : 2+len(s.sc.streamName)]
			it = Item{Kind: KindClose, Element: Element{Raw: item[:end:end], Name: name[:len(name):len(name)], NSAt: 2 + len(name)}}
			s.sc.streamOpen = false
		}
		s.sc.b = nil // keep no reference to the caller's buffer
		return it, i + s.sc.pos, nil
	}
}

func (s *Splitter) fail(cond Condition, off int, msg string) (Item, int, error) {
	s.err = &SyntaxError{Cond: cond, Offset: off, Msg: msg}
	s.partial = false
	return Item{}, 0, s.err
}

// element describes the top-level element the scanner just found in item.
func (s *Splitter) element(item []byte) Element {
	sc := &s.sc
	s.attrs = appendAttrs(s.attrs[:0], item, sc.topAttrs)
	s.borrowed = appendSpans(s.borrowed[:0], item, sc.topBorrowed)
	return element(item, &sc.top, sub(s.attrs, 0, len(s.attrs)), sub(s.borrowed, 0, len(s.borrowed)))
}

// open makes the stream header just found the namespace context: its own
// declarations, and the bindings of the previous header it borrowed.
func (s *Splitter) open(item []byte) {
	sc := &s.sc
	type pair struct{ prefix, ns []byte }
	var pairs []pair
	for i := range sc.ctx {
		if sc.ctx[i].topMark == sc.seq {
			pairs = append(pairs, pair{sc.ctx[i].prefix, sc.ctx[i].ns})
		}
	}
	for _, bd := range sc.binds {
		pairs = append(pairs, pair{item[bd.prefix.start:bd.prefix.end], sc.decoded(item[bd.value.start:bd.value.end], bd.amp)})
	}
	// The new context must not alias item, which the caller will reuse, nor
	// the old context's store.
	size := 0
	for _, p := range pairs {
		size += len(p.prefix) + len(p.ns)
	}
	store := make([]byte, 0, size)
	ctx := make([]ctxBinding, len(pairs))
	for i, p := range pairs {
		store = append(store, p.prefix...)
		ctx[i].prefix = store[len(store)-len(p.prefix):]
		store = append(store, p.ns...)
		ctx[i].ns = store[len(store)-len(p.ns):]
		ctx[i].known = true
	}
	sc.setContext(ctx)
	sc.streamName = append(sc.streamName[:0], item[sc.top.name.start:sc.top.name.end]...)
	sc.streamOpen = true
}

// declaration checks an XML declaration at the start of item, remembering
// how far it got in s.declPos. It returns the declaration's length, or 0 when
// item ends before it does.
func (s *Splitter) declaration(item []byte, maxBytes int) (int, *SyntaxError) {
	const target = "<?xml"
	if s.declPos < len(target)+1 {
		k := min(len(item), len(target))
		if string(item[:k]) != target[:k] || len(item) > k && !isSpace(item[k]) {
			return 0, &SyntaxError{Cond: RestrictedXML, Msg: "processing instructions are not allowed"}
		}
		if len(item) <= k {
			return 0, nil
		}
		s.declPos = k + 1
	}
	lim := min(len(item), maxBytes)
	for j := s.declPos; j < lim; j++ {
		switch c := item[j]; {
		case c == '>' && item[j-1] == '?':
			if err := checkDeclaration(item[:j+1]); err != nil {
				return 0, err
			}
			return j + 1, nil
		case c == '>' || c == '<' || c >= 0x80 || c < 0x20 && !isSpace(c):
			return 0, &SyntaxError{Cond: NotWellFormed, Offset: j, Msg: "invalid XML declaration"}
		}
	}
	s.declPos = max(lim, s.declPos)
	if len(item) > maxBytes {
		return 0, tooLarge(maxBytes, maxBytes)
	}
	return 0, nil
}

// checkDeclaration checks the pseudo-attributes of a complete XML
// declaration: version, then optionally encoding (which must be UTF-8,
// RFC 6120 §11.6) and standalone.
func checkDeclaration(d []byte) *SyntaxError {
	bad := func(off int, msg string) *SyntaxError {
		return &SyntaxError{Cond: NotWellFormed, Offset: off, Msg: msg}
	}
	body := d[:len(d)-2]
	names := [...]string{"version", "encoding", "standalone"}
	next := 0
	p := len("<?xml")
	for {
		q := skipSpace(body, p)
		if q == len(body) {
			break
		}
		if q == p {
			return bad(q, "whitespace expected in XML declaration")
		}
		nameEnd := q
		for nameEnd < len(body) && 'a' <= body[nameEnd] && body[nameEnd] <= 'z' {
			nameEnd++
		}
		name := body[q:nameEnd]
		r := skipSpace(body, nameEnd)
		if r == len(body) || body[r] != '=' {
			return bad(r, "expected '=' in XML declaration")
		}
		r = skipSpace(body, r+1)
		if r == len(body) || body[r] != '\'' && body[r] != '"' {
			return bad(r, "expected a quoted value in XML declaration")
		}
		vEnd := bytes.IndexByte(body[r+1:], body[r])
		if vEnd < 0 {
			return bad(r, "unterminated value in XML declaration")
		}
		value := body[r+1 : r+1+vEnd]
		p = r + 2 + vEnd
		for next > 0 && next < len(names) && names[next] != string(name) {
			next++ // encoding and standalone are optional; version is not
		}
		if next == len(names) || names[next] != string(name) {
			return bad(q, "unexpected "+quote(name)+" in XML declaration")
		}
		switch next {
		case 0:
			if len(value) < 3 || string(value[:2]) != "1." || len(bytes.Trim(value[2:], "0123456789")) > 0 {
				return bad(r, "unsupported XML version "+quote(value))
			}
		case 1:
			if !bytes.EqualFold(value, []byte("UTF-8")) {
				return bad(r, "unsupported encoding "+quote(value)+" (XMPP uses UTF-8)")
			}
		case 2:
			if string(value) != "yes" && string(value) != "no" {
				return bad(r, "invalid standalone value "+quote(value))
			}
		}
		next++
	}
	if next == 0 {
		return bad(len(body), "XML declaration without a version")
	}
	return nil
}

// Reset forgets all stream state, as at the start of a new connection.
func (s *Splitter) Reset() {
	s.partial, s.decl, s.afterDecl = false, false, false
	s.err = nil
	s.sc.streamOpen = false
	s.sc.streamName = s.sc.streamName[:0]
	s.sc.setContext(nil)
}

// Namespace returns the namespace the current stream header binds to prefix
// (nil or empty prefix: the default namespace) and whether it is bound.
func (s *Splitter) Namespace(prefix []byte) (string, bool) {
	if string(prefix) == "xml" {
		return nsXML, true
	}
	i := s.sc.lookupCtx(prefix)
	if i < 0 || len(s.sc.ctx[i].ns) == 0 {
		return "", false
	}
	return string(s.sc.ctx[i].ns), true
}
