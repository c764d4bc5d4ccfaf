package jsonxlate

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This file is a small JSON parser (RFC 8259) for AppendXML. It is written
// here rather than taken from encoding/json because encoding/json replaces
// invalid UTF-8 and lone surrogates with U+FFFD without a word and keeps the
// last of duplicate keys; either would send something the browser did not
// mean. A string that is not valid Unicode is kept with a mark, so that the
// error can name its field.

type jtype uint8

const (
	jNull jtype = iota
	jFalse
	jTrue
	jNum
	jStr
	jArr
	jObj
)

func (t jtype) String() string {
	return [...]string{"null", "false", "true", "a number", "a string", "an array", "an object"}[t]
}

// jnode is one JSON value; the members of an object and the elements of an
// array are linked from first through next.
type jnode struct {
	typ    jtype
	bad    bool   // str is not valid Unicode
	badKey bool   // key is not valid Unicode
	str    string // jStr: the decoded string; jNum: the number as written
	key    string // the member's name, in an object
	first  int32
	next   int32

	// While parsing, str and key are spans of the input or, when they had
	// escapes, of jparser.esc (marked by the high bit of the start).
	s0, s1, k0, k1 int32
}

// escaped marks a span of jparser.esc.
const escaped = 1 << 30

// maxJSONDepth bounds nesting. XML nested as deep as xmlsplit accepts (64)
// needs about twice as many JSON levels.
const maxJSONDepth = 256

type jparser struct {
	b     []byte
	i     int
	nodes []jnode
	esc   []byte // decoded strings that had escapes
	depth int
}

// parseJSON parses one JSON object, with nothing but white space around it.
// Its strings share one allocation.
func parseJSON(b []byte) ([]jnode, *Error) {
	if len(b) >= escaped {
		return nil, &Error{Code: CodeTooLarge, Text: "frame too large"}
	}
	p := jparser{b: b, nodes: make([]jnode, 0, 8+len(b)/16)}
	p.space()
	if p.i >= len(b) || b[p.i] != '{' {
		return nil, &Error{Code: CodeBadJSON, Text: "not a JSON object"}
	}
	if _, err := p.value(); err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(b) {
		return nil, p.syntax("data after the object")
	}
	var sb strings.Builder
	sb.Grow(len(b) + len(p.esc))
	sb.Write(b)
	sb.Write(p.esc)
	all := sb.String()
	span := func(a, z int32) string {
		if a&escaped != 0 {
			a, z = a&^escaped+int32(len(b)), z&^escaped+int32(len(b))
		}
		return all[a:z]
	}
	for k := range p.nodes {
		n := &p.nodes[k]
		if n.typ == jStr || n.typ == jNum {
			n.str = span(n.s0, n.s1)
		}
		n.key = span(n.k0, n.k1)
	}
	return p.nodes, nil
}

func (p *jparser) syntax(what string) *Error {
	return &Error{Code: CodeBadJSON, Text: what + " at byte " + strconv.Itoa(p.i)}
}

func (p *jparser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jparser) add(n jnode) int32 {
	n.first, n.next = -1, -1
	p.nodes = append(p.nodes, n)
	return int32(len(p.nodes) - 1)
}

func (p *jparser) value() (int32, *Error) {
	p.space()
	if p.i >= len(p.b) {
		return 0, p.syntax("unexpected end")
	}
	switch c := p.b[p.i]; c {
	case '{', '[':
		return p.container(c)
	case '"':
		s0, s1, bad, err := p.span()
		if err != nil {
			return 0, err
		}
		return p.add(jnode{typ: jStr, s0: s0, s1: s1, bad: bad}), nil
	case 't':
		return p.literal("true", jTrue)
	case 'f':
		return p.literal("false", jFalse)
	case 'n':
		return p.literal("null", jNull)
	}
	return p.number()
}

func (p *jparser) literal(word string, t jtype) (int32, *Error) {
	if len(p.b)-p.i < len(word) || string(p.b[p.i:p.i+len(word)]) != word {
		return 0, p.syntax("invalid value")
	}
	p.i += len(word)
	return p.add(jnode{typ: t}), nil
}

func (p *jparser) number() (int32, *Error) {
	start := p.i
	b := p.b
	digits := func() bool {
		d := p.i
		for p.i < len(b) && '0' <= b[p.i] && b[p.i] <= '9' {
			p.i++
		}
		return p.i > d
	}
	if p.i < len(b) && b[p.i] == '-' {
		p.i++
	}
	if p.i < len(b) && b[p.i] == '0' {
		p.i++
	} else if !digits() {
		return 0, p.syntax("invalid value")
	}
	if p.i < len(b) && b[p.i] == '.' {
		p.i++
		if !digits() {
			return 0, p.syntax("invalid number")
		}
	}
	if p.i < len(b) && (b[p.i] == 'e' || b[p.i] == 'E') {
		p.i++
		if p.i < len(b) && (b[p.i] == '+' || b[p.i] == '-') {
			p.i++
		}
		if !digits() {
			return 0, p.syntax("invalid number")
		}
	}
	return p.add(jnode{typ: jNum, s0: int32(start), s1: int32(p.i)}), nil
}

func (p *jparser) container(open byte) (int32, *Error) {
	p.depth++
	if p.depth > maxJSONDepth {
		return 0, &Error{Code: CodeTooLarge, Text: "JSON nested deeper than " + strconv.Itoa(maxJSONDepth) + " levels"}
	}
	t, close := jArr, byte(']')
	if open == '{' {
		t, close = jObj, '}'
	}
	idx := p.add(jnode{typ: t})
	p.i++
	p.space()
	if p.i < len(p.b) && p.b[p.i] == close {
		p.i++
		p.depth--
		return idx, nil
	}
	prev := int32(-1)
	n := 0
	for {
		var k0, k1 int32
		var badKey bool
		if t == jObj {
			p.space()
			if p.i >= len(p.b) || p.b[p.i] != '"' {
				return 0, p.syntax("expected a member name")
			}
			var err *Error
			if k0, k1, badKey, err = p.span(); err != nil {
				return 0, err
			}
			p.space()
			if p.i >= len(p.b) || p.b[p.i] != ':' {
				return 0, p.syntax("expected ':'")
			}
			p.i++
		}
		ch, err := p.value()
		if err != nil {
			return 0, err
		}
		p.nodes[ch].k0, p.nodes[ch].k1, p.nodes[ch].badKey = k0, k1, badKey
		if prev < 0 {
			p.nodes[idx].first = ch
		} else {
			p.nodes[prev].next = ch
		}
		prev = ch
		n++
		p.space()
		if p.i >= len(p.b) {
			return 0, p.syntax("unexpected end")
		}
		if p.b[p.i] == ',' {
			p.i++
			continue
		}
		if p.b[p.i] != close {
			return 0, p.syntax("expected ',' or '" + string(close) + "'")
		}
		p.i++
		break
	}
	p.depth--
	if t == jObj {
		if err := p.unique(idx, n); err != nil {
			return 0, err
		}
	}
	return idx, nil
}

// unique rejects an object with two members of the same name.
func (p *jparser) unique(obj int32, n int) *Error {
	if n <= 32 { // comparing spans allocates nothing; a map would

		for a := p.nodes[obj].first; a >= 0; a = p.nodes[a].next {
			for b := p.nodes[a].next; b >= 0; b = p.nodes[b].next {
				if bytes.Equal(p.keyBytes(a), p.keyBytes(b)) {
					return dupMember(p.key(a))
				}
			}
		}
		return nil
	}
	seen := make(map[string]struct{}, n)
	for a := p.nodes[obj].first; a >= 0; a = p.nodes[a].next {
		k := p.key(a)
		if _, ok := seen[k]; ok {
			return dupMember(k)
		}
		seen[k] = struct{}{}
	}
	return nil
}

func dupMember(key string) *Error {
	return &Error{Code: CodeBadJSON, Text: "duplicate member " + strconv.Quote(key)}
}

// key returns the name of member a while parsing.
func (p *jparser) key(a int32) string { return string(p.keyBytes(a)) }

func (p *jparser) keyBytes(a int32) []byte {
	return p.spanBytes(p.nodes[a].k0, p.nodes[a].k1)
}

func (p *jparser) spanBytes(s0, s1 int32) []byte {
	if s0&escaped != 0 {
		return p.esc[s0&^escaped : s1&^escaped]
	}
	return p.b[s0:s1]
}

// span reads the string at p.i and returns where its decoded form is: a
// span of the input when it has no escapes, else of p.esc (marked). bad
// reports invalid UTF-8 or a lone surrogate.
func (p *jparser) span() (s0, s1 int32, bad bool, err *Error) {
	start := p.i + 1
	for j := start; j < len(p.b); j++ {
		c := p.b[j]
		if c == '"' {
			p.i = j + 1
			return int32(start), int32(j), !utf8.Valid(p.b[start:j]), nil
		}
		if c == '\\' || c < 0x20 {
			break
		}
	}
	e0 := len(p.esc)
	p.esc, bad, err = p.decodeString(p.esc)
	return int32(e0) | escaped, int32(len(p.esc)) | escaped, bad, err
}

// decodeString appends the decoded string at p.i to buf; bad reports
// invalid UTF-8 or a lone surrogate.
func (p *jparser) decodeString(buf []byte) (_ []byte, bad bool, err *Error) {
	b := p.b
	p.i++
	start, b0 := p.i, len(buf)
	for p.i < len(b) && b[p.i] != '"' && b[p.i] != '\\' && b[p.i] >= 0x20 {
		p.i++
	}
	buf = append(buf, b[start:p.i]...)
	for {
		if p.i >= len(b) {
			return buf, false, p.syntax("unterminated string")
		}
		c := b[p.i]
		switch {
		case c == '"':
			p.i++
			return buf, bad || !utf8.Valid(buf[b0:]), nil
		case c < 0x20:
			return buf, false, p.syntax("control character in string")
		case c != '\\':
			buf = append(buf, c)
			p.i++
			continue
		}
		if p.i+1 >= len(b) {
			return buf, false, p.syntax("unterminated string")
		}
		e := b[p.i+1]
		p.i += 2
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := p.hex4()
			if !ok {
				return buf, false, p.syntax("invalid \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if len(b)-p.i >= 6 && b[p.i] == '\\' && b[p.i+1] == 'u' {
					save := p.i
					p.i += 2
					if r2, ok = p.hex4(); !ok {
						return buf, false, p.syntax("invalid \\u escape")
					}
					if utf16.DecodeRune(r, r2) == utf8.RuneError {
						p.i = save
						r2 = -1
					}
				}
				if r2 < 0 {
					bad = true
					r = utf8.RuneError
				} else {
					r = utf16.DecodeRune(r, r2)
				}
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return buf, false, p.syntax("invalid escape")
		}
	}
}

func (p *jparser) hex4() (rune, bool) {
	if len(p.b)-p.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	p.i += 4
	return r, true
}
