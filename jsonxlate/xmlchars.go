package jsonxlate

import "unicode/utf8"

// This file holds what both directions need to know about XML 1.0 (fifth
// edition) characters and names, and the escaping of text and attribute
// values on output.

// isNCName reports whether s is an XML name without a colon (Namespaces in
// XML 1.0, NCName).
func isNCName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == ':' || r == utf8.RuneError {
			return false
		}
		if i == 0 {
			if !isNameStartRune(r) {
				return false
			}
		} else if !isNameRune(r) {
			return false
		}
	}
	return true
}

// isNameStartRune reports whether r is a NameStartChar.
func isNameStartRune(r rune) bool {
	switch {
	case r < utf8.RuneSelf:
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || r == '_' || r == ':'
	case r < 0xC0:
		return false
	case r <= 0x2FF:
		return r != 0xD7 && r != 0xF7
	case r < 0x370:
		return false
	case r <= 0x1FFF:
		return r != 0x37E
	case r < 0x2070:
		return r == 0x200C || r == 0x200D
	case r <= 0x218F:
		return true
	case r < 0x2C00:
		return false
	case r <= 0x2FEF:
		return true
	case r < 0x3001:
		return false
	case r <= 0xD7FF:
		return true
	case r < 0xF900:
		return false
	case r <= 0xFDCF:
		return true
	case r < 0xFDF0:
		return false
	case r <= 0xFFFD:
		return true
	case r < 0x10000:
		return false
	}
	return r <= 0xEFFFF
}

// isNameRune reports whether r is a NameChar.
func isNameRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' ||
			r == '_' || r == ':' || r == '-' || r == '.'
	}
	return r == 0xB7 || 0x300 <= r && r <= 0x36F || r == 0x203F || r == 0x2040 || isNameStartRune(r)
}

// badChar returns the offset of the first character of s that XML 1.0 does
// not allow (controls other than tab, newline and carriage return, U+FFFE,
// U+FFFF, and bytes that are not UTF-8), or -1.
func badChar(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return i
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n <= 1 || r == 0xFFFE || r == 0xFFFF {
			return i
		}
		i += n
	}
	return -1
}

// Output escaping. Besides the markup characters, carriage returns, and in
// attribute values tabs and newlines too, are written as character
// references: a parser would turn them into a newline, or a space, and the
// round trip would change the value (XML 1.0 §2.11, §3.3.3). '>' is
// escaped so that "]]>" never appears in text.
var (
	textEsc [256]uint8 // index into escRefs, 0: as it is
	attrEsc [256]uint8
)

var escRefs = [...]string{"", "&amp;", "&lt;", "&gt;", "&apos;", "&#13;", "&#10;", "&#9;"}

func init() {
	textEsc['&'], textEsc['<'], textEsc['>'], textEsc['\r'] = 1, 2, 3, 5
	attrEsc['&'], attrEsc['<'], attrEsc['\''], attrEsc['\r'], attrEsc['\n'], attrEsc['\t'] = 1, 2, 4, 5, 6, 7
}

// appendEscaped appends s escaped with table esc (textEsc or attrEsc). The
// caller has checked s with badChar.
func appendEscaped(dst []byte, s string, esc *[256]uint8) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		if k := esc[s[i]]; k != 0 {
			dst = append(dst, s[last:i]...)
			dst = append(dst, escRefs[k]...)
			last = i + 1
		}
	}
	return append(dst, s[last:]...)
}
