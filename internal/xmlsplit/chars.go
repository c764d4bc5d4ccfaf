package xmlsplit

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// Byte classes for the scanner's inner loops: true means the byte is an
// ASCII character that needs no further look in that context. Everything
// else (markup, references, control characters, bytes of multi-byte
// characters) is handled one by one.
var (
	textByte  = charSet("<&>")
	attrByte  = charSet("<&'\"")
	cdataByte = charSet(">")
)

func charSet(special string) (t [256]bool) {
	t['\t'], t['\n'], t['\r'] = true, true, true
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for i := 0; i < len(special); i++ {
		t[special[i]] = false
	}
	return t
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// isChar reports whether r is in the Char production of XML 1.0.
func isChar(r rune) bool {
	switch {
	case r < 0x20:
		return r == '\t' || r == '\n' || r == '\r'
	case r <= 0xD7FF:
		return true
	case r < 0xE000:
		return false
	case r <= 0xFFFD:
		return true
	}
	return 0x10000 <= r && r <= utf8.MaxRune
}

// charLen returns the length of the XML character that p starts with, 0 when
// p ends before the character does, or -1 when p does not start with valid
// UTF-8 encoding an XML Char. It checks the bytes itself, as utf8.DecodeRune
// would (RFC 3629: no overlong forms, surrogates or values past U+10FFFF),
// without decoding them, which is faster.
func charLen(p []byte) int {
	c := p[0]
	if c < utf8.RuneSelf {
		if c >= 0x20 || c == '\t' || c == '\n' || c == '\r' {
			return 1
		}
		return -1
	}
	var n int
	lo, hi := byte(0x80), byte(0xBF) // the range of the second byte
	switch {
	case c < 0xC2:
		return -1
	case c < 0xE0:
		n = 2
	case c < 0xF0:
		n = 3
		if c == 0xE0 {
			lo = 0xA0
		} else if c == 0xED {
			hi = 0x9F // not a surrogate
		}
	case c < 0xF5:
		n = 4
		if c == 0xF0 {
			lo = 0x90
		} else if c == 0xF4 {
			hi = 0x8F
		}
	default:
		return -1
	}
	if len(p) < 2 {
		return 0
	}
	if p[1] < lo || p[1] > hi {
		return -1
	}
	for i := 2; i < n; i++ {
		if i >= len(p) {
			return 0
		}
		if p[i]&0xC0 != 0x80 {
			return -1
		}
	}
	if c == 0xEF && p[1] == 0xBF && p[2] >= 0xBE { // U+FFFE, U+FFFF
		return -1
	}
	return n
}

// badChar describes why charLen rejected the start of p.
func badChar(p []byte) string {
	r, n := utf8.DecodeRune(p)
	if r == utf8.RuneError && n <= 1 {
		return "invalid UTF-8"
	}
	return fmt.Sprintf("character %U is not allowed in XML", r)
}

// charRef returns the code point of the digits of a character reference
// (decimal, or hexadecimal when hex), and false when there are none or the
// value is beyond Unicode.
func charRef(digits []byte, hex bool) (rune, bool) {
	if len(digits) == 0 {
		return 0, false
	}
	for len(digits) > 1 && digits[0] == '0' {
		digits = digits[1:]
	}
	if hex && len(digits) > 6 || !hex && len(digits) > 7 {
		return 0, false
	}
	var r rune
	for _, c := range digits {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case hex && 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case hex && 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		if hex {
			r = r<<4 | rune(c)
		} else {
			r = r*10 + rune(c)
		}
	}
	return r, r <= utf8.MaxRune
}

func isDigit(c byte, hex bool) bool {
	return '0' <= c && c <= '9' || hex && ('a' <= c && c <= 'f' || 'A' <= c && c <= 'F')
}

// predefined returns the character a predefined entity stands for.
func predefined(name []byte) (byte, bool) {
	switch string(name) {
	case "lt":
		return '<', true
	case "gt":
		return '>', true
	case "amp":
		return '&', true
	case "apos":
		return '\'', true
	case "quot":
		return '"', true
	}
	return 0, false
}

// predefinedRef returns the length of the predefined entity reference p
// starts with, or 0 when it does not start with a complete one.
func predefinedRef(p []byte) int {
	if len(p) < 4 {
		return 0
	}
	switch p[1] {
	case 'l':
		if p[2] == 't' && p[3] == ';' {
			return 4
		}
	case 'g':
		if p[2] == 't' && p[3] == ';' {
			return 4
		}
	case 'a':
		if len(p) >= 5 && string(p[2:5]) == "mp;" {
			return 5
		}
		if len(p) >= 6 && string(p[2:6]) == "pos;" {
			return 6
		}
	case 'q':
		if len(p) >= 6 && string(p[2:6]) == "uot;" {
			return 6
		}
	}
	return 0
}

// Unescape appends the decoded form of a raw attribute value or text
// (predefined entity and character references) to dst. Other bytes are
// copied as they are: Unescape does not check them, nor normalise line ends
// or attribute whitespace. Errors are *SyntaxError with Offset into raw.
func Unescape(dst, raw []byte) ([]byte, error) {
	off := 0
	for {
		i := bytes.IndexByte(raw[off:], '&')
		if i < 0 {
			return append(dst, raw[off:]...), nil
		}
		dst = append(dst, raw[off:off+i]...)
		off += i
		r, n, err := reference(raw[off:])
		if err != nil {
			err.Offset = off
			return dst, err
		}
		dst = utf8.AppendRune(dst, r)
		off += n
	}
}

// reference decodes the reference p starts with ('&' ... ';') and returns
// the character and the reference's length.
func reference(p []byte) (rune, int, *SyntaxError) {
	end := bytes.IndexByte(p, ';')
	if end < 0 {
		return 0, 0, &SyntaxError{Cond: NotWellFormed, Msg: "reference without ';'"}
	}
	body := p[1:end]
	if len(body) > 0 && body[0] == '#' {
		digits, hex := body[1:], false
		if len(digits) > 0 && digits[0] == 'x' {
			digits, hex = digits[1:], true
		}
		r, ok := charRef(digits, hex)
		if !ok {
			return 0, 0, &SyntaxError{Cond: NotWellFormed, Msg: "malformed character reference " + quote(p[:end+1])}
		}
		if !isChar(r) {
			return 0, 0, &SyntaxError{Cond: NotWellFormed, Msg: fmt.Sprintf("character reference to %U, which is not allowed in XML", r)}
		}
		return r, end + 1, nil
	}
	if c, ok := predefined(body); ok {
		return rune(c), end + 1, nil
	}
	if isName(body) {
		return 0, 0, &SyntaxError{Cond: RestrictedXML, Msg: "undefined entity " + quote(p[:end+1])}
	}
	return 0, 0, &SyntaxError{Cond: NotWellFormed, Msg: "malformed reference " + quote(p[:end+1])}
}

// quote renders input for an error message, shortened when long.
func quote(p []byte) string {
	const max = 40
	if len(p) > max {
		return fmt.Sprintf("%q…", p[:max])
	}
	return fmt.Sprintf("%q", p)
}
