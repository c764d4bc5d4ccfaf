package jsonxlate

import "strconv"

// Peek reads the kind and id of a frame without converting it, for
// transports that handle some kinds themselves (login, close). kind and id
// are empty when absent. The error is an *Error: bad-json when obj is not a
// JSON object, unknown-kind when kind is not a string, bad-value when id is
// not a string; id is returned when known even then. Peek checks only what
// it reads: AppendXML checks the rest.
func Peek(obj []byte) (kind, id string, err error) {
	p := jparser{b: obj}
	p.space()
	if p.i >= len(obj) || obj[p.i] != '{' {
		return "", "", &Error{Code: CodeBadJSON, Text: "not a JSON object"}
	}
	p.i++
	var kindErr, idErr *Error
	haveKind, haveID := false, false
	for first := true; ; first = false {
		p.space()
		if p.i >= len(obj) {
			return kind, id, p.syntax("unexpected end")
		}
		if obj[p.i] == '}' && first {
			p.i++
			break
		}
		if obj[p.i] != '"' {
			return kind, id, p.syntax("expected a member name")
		}
		k0, k1, _, e := p.span()
		if e != nil {
			return kind, id, e
		}
		key := p.spanBytes(k0, k1)
		p.space()
		if p.i >= len(obj) || obj[p.i] != ':' {
			return kind, id, p.syntax("expected ':'")
		}
		p.i++
		p.space()
		switch {
		case string(key) == "kind" || string(key) == "id":
			isKind := string(key) == "kind"
			if isKind && haveKind || !isKind && haveID {
				return kind, id, &Error{Code: CodeBadJSON, Text: "duplicate member " + strconv.Quote(string(key))}
			}
			var s string
			var bad bool
			var e *Error
			isStr := p.i < len(obj) && obj[p.i] == '"'
			if isStr {
				var s0, s1 int32
				if s0, s1, bad, e = p.span(); e == nil {
					s = string(p.spanBytes(s0, s1))
				}
			} else {
				e = p.skip()
			}
			if e != nil {
				return kind, id, e
			}
			if isKind {
				haveKind = true
				if !isStr || bad {
					kindErr = &Error{Code: CodeUnknownKind, Field: "kind", Text: "kind is not a string"}
				} else {
					kind = s
				}
			} else {
				haveID = true
				if !isStr || bad {
					idErr = &Error{Code: CodeBadValue, Field: "id", Text: "id is not a string"}
				} else {
					id = s
				}
			}
		default:
			if e := p.skip(); e != nil {
				return kind, id, e
			}
		}
		p.space()
		if p.i >= len(obj) {
			return kind, id, p.syntax("unexpected end")
		}
		if obj[p.i] == '}' {
			p.i++
			break
		}
		if obj[p.i] != ',' {
			return kind, id, p.syntax("expected ',' or '}'")
		}
		p.i++
	}
	p.space()
	if p.i != len(obj) {
		return kind, id, p.syntax("data after the object")
	}
	if kindErr != nil {
		return kind, id, kindErr
	}
	if idErr != nil {
		return kind, id, idErr
	}
	return kind, id, nil
}

// skip passes over one value without decoding it, checking only that its
// brackets and strings are closed.
func (p *jparser) skip() *Error {
	depth := 0
	b := p.b
	if p.i < len(b) && (b[p.i] == ',' || b[p.i] == '}' || b[p.i] == ']') {
		return p.syntax("expected a value")
	}
	for p.i < len(b) {
		switch c := b[p.i]; c {
		case '"':
			p.i++
			for p.i < len(b) && b[p.i] != '"' {
				if b[p.i] == '\\' {
					p.i++
				}
				p.i++
			}
			if p.i >= len(b) {
				return p.syntax("unterminated string")
			}
			p.i++
		case '{', '[':
			depth++
			p.i++
		case '}', ']':
			if depth == 0 {
				return nil
			}
			depth--
			p.i++
		case ',':
			if depth == 0 {
				return nil
			}
			p.i++
		default:
			p.i++
		}
		if depth == 0 {
			// After a complete scalar or container at the top level, the
			// value ends at the next ',' or '}' (checked by the caller).
			p.space()
			if p.i < len(b) && (b[p.i] == ',' || b[p.i] == '}' || b[p.i] == ']') {
				return nil
			}
		}
	}
	return p.syntax("unexpected end")
}
