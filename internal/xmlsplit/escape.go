package xmlsplit

import "unicode/utf8"

// Output: what a writer of XML needs, the inverse of what the parser
// checks. Besides the markup characters, carriage returns — and in
// attribute values tabs and newlines too — are written as character
// references: a parser would turn them into a newline, or a space, and the
// value would not come back the same (XML 1.0 §2.11, §3.3.3).
var (
	textEsc [256]uint8 // index into escRefs; 0: the byte as it is
	attrEsc [256]uint8
)

var escRefs = [...]string{"", "&amp;", "&lt;", "&gt;", "&apos;", "&quot;", "&#13;", "&#10;", "&#9;"}

func init() {
	textEsc['&'], textEsc['<'], textEsc['>'], textEsc['\r'] = 1, 2, 3, 6
	attrEsc['&'], attrEsc['<'], attrEsc['>'], attrEsc['\''], attrEsc['"'] = 1, 2, 3, 4, 5
	attrEsc['\r'], attrEsc['\n'], attrEsc['\t'] = 6, 7, 8
}

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

// AppendEscape appends s to dst escaped for an attribute value in either
// quote; it is right for text too. s must hold only XML characters (see
// InvalidChar).
func AppendEscape(dst []byte, s string) []byte { return appendEscaped(dst, s, &attrEsc) }

// AppendText appends s to dst escaped for character data: '&', '<', '>'
// (so that "]]>" never appears) and carriage returns. s must hold only XML
// characters.
func AppendText(dst []byte, s string) []byte { return appendEscaped(dst, s, &textEsc) }

// AppendAttr appends ` name='value'`, escaped; nothing when value is empty.
func AppendAttr(dst []byte, name, value string) []byte {
	if value == "" {
		return dst
	}
	dst = append(dst, ' ')
	dst = append(dst, name...)
	dst = append(dst, "='"...)
	dst = AppendEscape(dst, value)
	return append(dst, '\'')
}

// InvalidChar returns the offset of the first character of s that XML 1.0
// does not allow (controls other than tab, newline and carriage return,
// surrogates, U+FFFE, U+FFFF, bytes that are not UTF-8), or -1.
func InvalidChar(s string) int {
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
		if r == utf8.RuneError && n <= 1 || !isChar(r) {
			return i
		}
		i += n
	}
	return -1
}

// IsNCName reports whether s is an XML name without a colon (Namespaces in
// XML 1.0, NCName).
func IsNCName(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return false
		}
	}
	return isName([]byte(s))
}
