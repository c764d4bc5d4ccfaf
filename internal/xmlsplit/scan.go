package xmlsplit

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// The scanner checks one element (or, for a Splitter, one stream-level
// item) as a resumable state machine. It holds only offsets into its input,
// never slices of it, so a Splitter can resume a partial item when the
// caller passes the same bytes again in a new, longer buffer. Every state
// can stop at any byte and continue from there; the few constructs that need
// lookahead ('<' plus one byte, "<![CDATA[" and a multi-byte character) are
// re-read from their start, which costs at most a few bytes per call.

type state uint8

const (
	stLT        state = iota // at '<'
	stBang                   // at "<!"
	stStartName              // in an element name; mark is its start
	stAttrs                  // in a start tag, after the name or an attribute
	stAttrName               // in an attribute name; mark is its start
	stAttrEq                 // after an attribute name, before '='
	stAttrQuote              // after '=', before the quote
	stAttrValue              // in an attribute value; mark is its start
	stEmptyEnd               // after the '/' of "/>"
	stContent                // in character data
	stRef                    // in a reference; ref is its '&', ret the state after it
	stCDATA                  // in a CDATA section; cdata is where its text starts
	stEndName                // in an end tag name; mark is its start
	stEndSpace               // after an end tag name, before '>'
)

type status uint8

const (
	cont        status = iota // keep scanning (internal)
	needMore                  // the input ends before the item does
	doneElement               // a complete element
	doneOpen                  // a stream header (Split only)
	doneClose                 // the stream's end tag (Split only)
	failed                    // see errCond, errOff and errMsg
)

type span struct{ start, end int }

type attrSpan struct {
	name  span
	colon int // offset of the ':' in the name, or -1
	value span
	amp   bool // the value holds a reference
}

// frame is an open element.
type frame struct {
	name  span
	nbind int // len(binds) before the element's own declarations
}

// elemRec describes the top-level element or one of its children, as
// offsets; attrs and borrowed are ranges of the matching record lists.
type elemRec struct {
	start, end  int
	name        span
	declDefault bool
	selfClosing bool
	attrs       span
	borrowed    span
}

type scanner struct {
	b        []byte // the item's bytes so far: b[0] is its '<'
	pos      int    // next byte to look at
	st       state
	ret      state // where a reference returns to
	maxDepth int

	// Stream-level context (Split only).
	stream     bool   // the item is at stream level
	streamOpen bool   // a stream header has been seen
	streamName []byte // its qualified name
	needHeader bool   // only a stream header may come (after <?xml?>)

	children bool // Parse: describe the top-level element's children

	// The token being scanned.
	tagStart int // the '<' of the current tag
	mark     int
	ref      int
	cdata    int
	runStart int // where the current run of character data started
	quote    byte
	space    bool // whitespace since the name or the last attribute value
	amp      bool
	colons   uint8  // nameClass of the name's bytes or-ed: 3 if it has a ':'
	seen     uint64 // a bit for each attribute name's hash in the start tag
	maybeDup bool   // two attribute names have the same hash
	tag      span
	tagColon int
	attrs    []attrSpan

	stack    []frame
	binds    []binding
	index    map[string]int32 // prefix to binds index, once binds is long
	ctx      []ctxBinding
	cindx    map[string]int32 // prefix to ctx index, when ctx is long
	ctxStore []ctxBinding     // Parse: backing store for ctx
	refs     []attrRef

	seq    int // stamps the current item in ctx[].topMark
	kidSeq int // stamps the current child in kidMark fields

	// Results.
	top         elemRec
	topAttrs    []attrSpan
	topBorrowed []span
	kids        []elemRec
	kidAttrs    []attrSpan
	kidBorrowed []span

	errCond Condition
	errOff  int
	errMsg  string

	// tolerant: a breach that concerns the element alone (see fault) is
	// noted in elemFault, and the scan goes on to the element's end.
	tolerant  bool
	elemFault *SyntaxError
}

// begin prepares the scanner for a new item.
func (s *scanner) begin() {
	s.pos = 0
	s.st = stLT
	s.attrs = s.attrs[:0]
	s.stack = s.stack[:0]
	s.binds = s.binds[:0]
	s.index = nil
	s.seq++
	s.top = elemRec{}
	s.topAttrs = s.topAttrs[:0]
	s.topBorrowed = s.topBorrowed[:0]
	s.kids = s.kids[:0]
	s.kidAttrs = s.kidAttrs[:0]
	s.kidBorrowed = s.kidBorrowed[:0]
	s.elemFault = nil
}

func (s *scanner) fail(cond Condition, off int, msg string) status {
	s.errCond, s.errOff, s.errMsg = cond, off, msg
	return failed
}

// fault reports a breach of a rule that concerns only the element being
// scanned, not the XML around it: XML Namespaces, unique attribute names,
// the nesting depth. Its tags are complete and balance, so a tolerant
// scanner notes the first such breach and goes on to the element's end;
// any other scanner fails.
func (s *scanner) fault(cond Condition, off int, msg string) status {
	if !s.tolerant {
		return s.fail(cond, off, msg)
	}
	if s.elemFault == nil {
		s.elemFault = &SyntaxError{Cond: cond, Offset: off, Msg: msg}
	}
	return cont
}

func (s *scanner) failChar(off int) status {
	return s.fail(NotWellFormed, off, badChar(s.b[off:]))
}

// run scans s.b[:lim] from s.pos on.
func (s *scanner) run(lim int) status {
	b := s.b[:lim]
	pos := s.pos
loop:
	for {
		switch s.st {
		case stContent:
			for pos < len(b) && textByte[b[pos]] {
				pos++
			}
			if pos >= len(b) {
				s.pos = pos
				return needMore
			}
			switch b[pos] {
			case '<':
				s.st = stLT
				if pos+1 >= len(b) {
					continue
				}
				// Fast paths for the usual tags; anything else goes
				// through the states one by one.
				if c := b[pos+1]; c == '/' && len(s.stack) > 0 {
					f := s.stack[len(s.stack)-1]
					e := pos + 2 + f.name.end - f.name.start
					if e < len(b) && b[e] == '>' && string(b[pos+2:e]) == string(b[f.name.start:f.name.end]) {
						s.tagStart = pos
						pos = e + 1
						if r := s.endTag(pos); r != cont {
							s.pos = pos
							return r
						}
					}
				} else if nameStartByte[c] {
					s.tagStart = pos
					pos++
					start, colons := pos, uint8(0)
					for pos < len(b) && nameClass[b[pos]] != 0 {
						colons |= nameClass[b[pos]]
						pos++
					}
					if pos >= len(b) || b[pos] >= utf8.RuneSelf {
						s.mark, s.colons, s.st = start, colons, stStartName
						continue
					}
					if r := s.elemName(start, pos, colons); r != cont {
						return r
					}
				}
			case '&':
				if n := predefinedRef(b[pos:]); n > 0 {
					pos += n
					s.runStart = pos
					continue
				}
				s.ref, s.ret, s.st = pos, stContent, stRef
				pos++
			case '>':
				if pos-2 >= s.runStart && b[pos-1] == ']' && b[pos-2] == ']' {
					return s.fail(NotWellFormed, pos-2, "']]>' is not allowed in character data")
				}
				pos++
			default:
				n := charLen(b[pos:])
				if n == 0 {
					s.pos = pos
					return needMore
				}
				if n < 0 {
					return s.failChar(pos)
				}
				pos += n
			}

		case stLT:
			if pos+1 >= len(b) {
				s.pos = pos
				return needMore
			}
			s.tagStart = pos
			switch b[pos+1] {
			case '/':
				if len(s.stack) == 0 && !s.stream {
					return s.fail(NotWellFormed, pos, "end tag without a start tag")
				}
				pos += 2
				s.mark, s.colons, s.st = pos, 0, stEndName
			case '!':
				s.st = stBang
			case '?':
				return s.fail(RestrictedXML, pos, "processing instructions are not allowed")
			default:
				pos++
				s.mark, s.colons, s.st = pos, 0, stStartName
			}

		case stBang:
			rest := b[pos:]
			switch {
			case bytes.HasPrefix(rest, cdataOpen):
				if len(s.stack) == 0 {
					return s.fail(NotWellFormed, pos, "CDATA section outside an element")
				}
				pos += len(cdataOpen)
				s.cdata, s.st = pos, stCDATA
			case bytes.HasPrefix(rest, commentOpen):
				return s.fail(RestrictedXML, pos, "comments are not allowed")
			case bytes.HasPrefix(rest, doctypeOpen):
				return s.fail(RestrictedXML, pos, "DTDs are not allowed")
			case bytes.HasPrefix(cdataOpen, rest) || bytes.HasPrefix(commentOpen, rest) || bytes.HasPrefix(doctypeOpen, rest):
				s.pos = pos
				return needMore
			default:
				return s.fail(NotWellFormed, pos, "invalid markup after '<!'")
			}

		case stCDATA:
			for pos < len(b) && cdataByte[b[pos]] {
				pos++
			}
			if pos >= len(b) {
				s.pos = pos
				return needMore
			}
			if b[pos] == '>' {
				pos++
				if pos-3 >= s.cdata && b[pos-2] == ']' && b[pos-3] == ']' {
					s.st, s.runStart = stContent, pos
				}
				continue
			}
			n := charLen(b[pos:])
			if n == 0 {
				s.pos = pos
				return needMore
			}
			if n < 0 {
				return s.failChar(pos)
			}
			pos += n

		case stStartName, stAttrName, stEndName:
			// colons collects whether the name has a ':', so that most
			// names need no second look.
			colons := s.colons
			for pos < len(b) && nameClass[b[pos]] != 0 {
				colons |= nameClass[b[pos]]
				pos++
			}
			for pos < len(b) && b[pos] >= utf8.RuneSelf {
				r, n := utf8.DecodeRune(b[pos:])
				if r == utf8.RuneError && n == 1 {
					if !utf8.FullRune(b[pos:]) {
						break
					}
					return s.failChar(pos)
				}
				if !isNameRune(r) {
					break
				}
				pos += n
				for pos < len(b) && nameClass[b[pos]] != 0 {
					colons |= nameClass[b[pos]]
					pos++
				}
			}
			if pos >= len(b) || b[pos] >= utf8.RuneSelf && !utf8.FullRune(b[pos:]) {
				s.pos, s.colons = pos, colons
				return needMore
			}
			if s.st == stEndName {
				if r := s.endName(b[s.mark:pos]); r != cont {
					return r
				}
				s.st = stEndSpace
				continue
			}
			var r status
			if s.st == stStartName {
				r = s.elemName(s.mark, pos, colons)
			} else {
				r = s.attrName(s.mark, pos, colons)
			}
			if r != cont {
				return r
			}

		case stAttrs:
			for pos < len(b) && isSpace(b[pos]) {
				pos++
				s.space = true
			}
			if pos >= len(b) {
				s.pos = pos
				return needMore
			}
			if c := b[pos]; s.space && nameStartByte[c] {
				// Fast path: name='value' in one go, as long as the
				// value has no reference and the input does not end.
				start, colons := pos, uint8(0)
				for pos < len(b) && nameClass[b[pos]] != 0 {
					colons |= nameClass[b[pos]]
					pos++
				}
				if pos >= len(b) || b[pos] >= utf8.RuneSelf {
					s.mark, s.colons, s.st = start, colons, stAttrName
					continue
				}
				if r := s.attrName(start, pos, colons); r != cont {
					return r
				}
				if pos+1 < len(b) && b[pos] == '=' && (b[pos+1] == '\'' || b[pos+1] == '"') {
					s.quote, s.amp, s.st = b[pos+1], false, stAttrValue
					pos += 2
					s.mark = pos
					for pos < len(b) && attrByte[b[pos]] {
						pos++
					}
					if pos < len(b) && b[pos] == s.quote {
						s.attrs[len(s.attrs)-1].value = span{s.mark, pos}
						pos++
						s.space, s.st = false, stAttrs
					}
				}
				continue loop
			}
			switch c := b[pos]; {
			case c == '>':
				pos++
				if r := s.startTag(pos, false); r != cont {
					s.pos = pos
					return r
				}
			case c == '/':
				pos++
				s.st = stEmptyEnd
			case c < utf8.RuneSelf && !nameStartByte[c]:
				return s.fail(NotWellFormed, pos, "invalid character "+quote(b[pos:pos+1])+" in start tag")
			case !s.space:
				return s.fail(NotWellFormed, pos, "attributes must be separated by whitespace")
			default:
				s.mark, s.colons, s.st = pos, 0, stAttrName
			}

		case stEmptyEnd:
			if pos >= len(b) {
				s.pos = pos
				return needMore
			}
			if b[pos] != '>' {
				return s.fail(NotWellFormed, pos, "expected '>' after '/' in start tag")
			}
			pos++
			if r := s.startTag(pos, true); r != cont {
				s.pos = pos
				return r
			}

		case stAttrEq, stAttrQuote:
			for pos < len(b) && isSpace(b[pos]) {
				pos++
			}
			if pos >= len(b) {
				s.pos = pos
				return needMore
			}
			c := b[pos]
			if s.st == stAttrEq {
				if c != '=' {
					return s.fail(NotWellFormed, pos, "expected '=' after attribute name")
				}
				pos++
				s.st = stAttrQuote
				continue
			}
			if c != '\'' && c != '"' {
				return s.fail(NotWellFormed, pos, "attribute value must be quoted")
			}
			pos++
			s.quote, s.mark, s.amp, s.st = c, pos, false, stAttrValue

		case stAttrValue:
			for pos < len(b) && attrByte[b[pos]] {
				pos++
			}
			if pos >= len(b) {
				s.pos = pos
				return needMore
			}
			switch c := b[pos]; c {
			case s.quote:
				a := &s.attrs[len(s.attrs)-1]
				a.value, a.amp = span{s.mark, pos}, s.amp
				pos++
				s.space, s.st = false, stAttrs
			case '\'', '"':
				pos++
			case '<':
				return s.fail(NotWellFormed, pos, "'<' is not allowed in attribute values")
			case '&':
				s.amp = true
				if n := predefinedRef(b[pos:]); n > 0 {
					pos += n
					continue
				}
				s.ref, s.ret, s.st = pos, stAttrValue, stRef
				pos++
			default:
				n := charLen(b[pos:])
				if n == 0 {
					s.pos = pos
					return needMore
				}
				if n < 0 {
					return s.failChar(pos)
				}
				pos += n
			}

		case stRef:
			var r status
			if pos, r = s.reference(b, pos); r != cont {
				s.pos = pos
				return r
			}
			s.st = s.ret
			s.runStart = pos

		case stEndSpace:
			for pos < len(b) && isSpace(b[pos]) {
				pos++
			}
			if pos >= len(b) {
				s.pos = pos
				return needMore
			}
			if b[pos] != '>' {
				return s.fail(NotWellFormed, pos, "expected '>' in end tag")
			}
			pos++
			if r := s.endTag(pos); r != cont {
				s.pos = pos
				return r
			}
		}
	}
}

var (
	cdataOpen   = []byte("<![CDATA[")
	commentOpen = []byte("<!--")
	doctypeOpen = []byte("<!DOCTYPE")
)

// elemName records the element name b[start:end] of a start tag; colons
// is the or of nameClass over its bytes.
func (s *scanner) elemName(start, end int, colons uint8) status {
	colon, r := s.qname(start, end, colons)
	if r != cont {
		return r
	}
	s.tag, s.tagColon = span{start, end}, colon
	s.attrs = s.attrs[:0]
	s.seen, s.maybeDup = 0, false
	s.space, s.st = false, stAttrs
	return cont
}

// attrName records the attribute name b[start:end].
func (s *scanner) attrName(start, end int, colons uint8) status {
	colon, r := s.qname(start, end, colons)
	if r != cont {
		return r
	}
	// Equal names have equal hashes: only when two collide must startTag
	// compare names. The multiplier keeps the usual attributes of stanzas,
	// stream headers and BOSH bodies apart.
	x := uint32(s.b[start]) | uint32(s.b[end-1])<<8 | uint32(end-start)<<16
	bit := uint64(1) << (x * 0x85EBCA6B >> 26)
	s.maybeDup = s.maybeDup || s.seen&bit != 0
	s.seen |= bit
	// Filled in place: a struct built on the stack and copied in costs a
	// store-forwarding stall on this hot path.
	s.attrs = append(s.attrs, attrSpan{})
	a := &s.attrs[len(s.attrs)-1]
	a.name.start, a.name.end, a.colon = start, end, colon
	s.st = stAttrEq
	return cont
}

// qname checks the name b[start:end] of an element or attribute, and
// returns the offset of its colon or -1.
func (s *scanner) qname(start, end int, colons uint8) (int, status) {
	if start < end && colons&2 == 0 && nameStartByte[s.b[start]] {
		return -1, cont // the usual case
	}
	name := s.b[start:end]
	if len(name) == 0 || name[0] < utf8.RuneSelf && !nameStartByte[name[0]] || name[0] >= utf8.RuneSelf && !startsName(name) {
		switch {
		case s.st == stAttrs || s.st == stAttrName:
			return 0, s.fail(NotWellFormed, start, "invalid attribute name")
		case len(name) == 0:
			return 0, s.fail(NotWellFormed, s.tagStart, "'<' must start a tag (write &lt; in text)")
		}
		return 0, s.fail(NotWellFormed, start, "invalid element name "+quote(name))
	}
	if colons&2 == 0 {
		return -1, cont
	}
	colon := qnameColon(name)
	if colon == -2 {
		return 0, s.fail(NotWellFormed, start, "invalid qualified name "+quote(name))
	}
	return start + colon, cont
}

// reference scans the reference starting at s.ref, from p on, and returns
// the offset just past its ';'.
func (s *scanner) reference(b []byte, p int) (int, status) {
	r := s.ref
	for ; p < len(b); p++ {
		c := b[p]
		if p == r+1 {
			if c == '#' {
				continue
			}
			if !startsName(b[p:]) {
				if c >= utf8.RuneSelf && !utf8.FullRune(b[p:]) {
					return p, needMore
				}
				return p, s.fail(NotWellFormed, r, "'&' must start a reference (write &amp;)")
			}
		}
		if b[r+1] == '#' {
			ds, hex := r+2, false
			if p > ds && b[ds] == 'x' {
				ds, hex = ds+1, true
			} else if p == ds && c == 'x' {
				continue
			}
			if isDigit(c, hex) {
				continue
			}
			if c != ';' || p == ds {
				return p, s.fail(NotWellFormed, r, "malformed character reference")
			}
			v, ok := charRef(b[ds:p], hex)
			if !ok || !isChar(v) {
				return p, s.fail(NotWellFormed, r, "character reference "+quote(b[r:p+1])+" to a character not allowed in XML")
			}
			return p + 1, cont
		}
		if c == ';' {
			if _, ok := predefined(b[r+1 : p]); !ok {
				return p, s.fail(RestrictedXML, r, "undefined entity "+quote(b[r:p+1]))
			}
			return p + 1, cont
		}
		if c < utf8.RuneSelf {
			if !nameByte[c] {
				return p, s.fail(NotWellFormed, r, "entity reference without ';'")
			}
			continue
		}
		rn, n := utf8.DecodeRune(b[p:])
		if rn == utf8.RuneError && n == 1 {
			if !utf8.FullRune(b[p:]) {
				return p, needMore
			}
			return p, s.failChar(p)
		}
		if !isNameRune(rn) {
			return p, s.fail(NotWellFormed, r, "entity reference without ';'")
		}
		p += n - 1
	}
	return p, needMore
}

// endName checks the name of an end tag.
func (s *scanner) endName(name []byte) status {
	var want []byte
	switch {
	case len(s.stack) > 0:
		f := s.stack[len(s.stack)-1]
		want = s.b[f.name.start:f.name.end]
	case !s.streamOpen || s.needHeader:
		return s.fail(NotWellFormed, s.tagStart, "end tag before a stream header")
	default:
		want = s.streamName
	}
	if !bytes.Equal(name, want) {
		return s.fail(NotWellFormed, s.tagStart, "end tag "+quote(name)+" does not match start tag "+quote(want))
	}
	return cont
}

// endTag closes the innermost open element; end is just past its '>'.
func (s *scanner) endTag(end int) status {
	if len(s.stack) == 0 {
		return doneClose
	}
	f := s.stack[len(s.stack)-1]
	s.popBinds(f.nbind)
	s.stack = s.stack[:len(s.stack)-1]
	switch len(s.stack) {
	case 0:
		s.top.end = end
		return doneElement
	case 1:
		if s.children {
			k := &s.kids[len(s.kids)-1]
			k.end, k.borrowed.end = end, len(s.kidBorrowed)
		}
	}
	s.st, s.runStart = stContent, end
	return cont
}

func itoa(n int) string { return strconv.Itoa(n) }
