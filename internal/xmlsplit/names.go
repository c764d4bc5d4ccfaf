package xmlsplit

import "unicode/utf8"

// nameByte and nameStartByte classify ASCII bytes for the Name production of
// XML 1.0; bytes from 0x80 up are decoded and checked with isNameRune.
var (
	nameByte      = asciiSet("-.0123456789:ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")
	nameStartByte = asciiSet(":ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz")
)

// nameClass is nameByte as numbers, with ':' marked apart: 1 for a name
// byte, 3 for ':', so that or-ing the classes of a name's bytes tells
// whether it has a colon.
var nameClass = func() (t [256]uint8) {
	for c, ok := range nameByte {
		if ok {
			t[c] = 1
		}
	}
	t[':'] = 3
	return t
}()

func asciiSet(chars string) (t [256]bool) {
	for i := 0; i < len(chars); i++ {
		t[chars[i]] = true
	}
	return t
}

// isNameStartRune reports whether r is a NameStartChar of XML 1.0 (fifth
// edition), which is wider than the tables of earlier editions.
func isNameStartRune(r rune) bool {
	if r < utf8.RuneSelf {
		return nameStartByte[r]
	}
	switch {
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

// isNameRune reports whether r is a NameChar of XML 1.0 (fifth edition).
func isNameRune(r rune) bool {
	if r < utf8.RuneSelf {
		return nameByte[r]
	}
	return r == 0xB7 || 0x300 <= r && r <= 0x36F || r == 0x203F || r == 0x2040 || isNameStartRune(r)
}

// startsName reports whether p begins with a NameStartChar.
func startsName(p []byte) bool {
	if len(p) == 0 {
		return false
	}
	if p[0] < utf8.RuneSelf {
		return nameStartByte[p[0]]
	}
	r, _ := utf8.DecodeRune(p)
	return isNameStartRune(r)
}

// isName reports whether p is an XML Name.
func isName(p []byte) bool {
	if !startsName(p) {
		return false
	}
	for len(p) > 0 {
		if p[0] < utf8.RuneSelf {
			if !nameByte[p[0]] {
				return false
			}
			p = p[1:]
			continue
		}
		r, n := utf8.DecodeRune(p)
		if !isNameRune(r) {
			return false
		}
		p = p[n:]
	}
	return true
}

// qnameColon checks that name, already known to be an XML Name, is a
// qualified name of XML Namespaces (NCName or NCName ':' NCName), and returns
// the offset of its colon, or -1 when it has none. It returns -2 when name is
// not a qualified name.
func qnameColon(name []byte) int {
	colon := -1
	for i, c := range name { // names are short: a loop beats IndexByte
		if c == ':' {
			if colon >= 0 {
				return -2
			}
			colon = i
		}
	}
	if colon == 0 || colon > 0 && !startsName(name[colon+1:]) {
		return -2
	}
	return colon
}
