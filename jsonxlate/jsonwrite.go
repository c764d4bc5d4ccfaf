package jsonxlate

import (
	"strings"
	"unicode/utf8"
)

// This file writes strings as JSON: the mapping's own (appendJSONString),
// and the raw text and attribute values of an element, decoded on the way
// (toJSON.value).

// jsonSafe marks the bytes that stand for themselves inside a JSON string.
// 0xE2 is checked apart: it starts U+2028 and U+2029, which are escaped so
// that the output is also valid JavaScript for older parsers.
var jsonSafe = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = true
	}
	t['"'], t['\\'], t[0xE2] = false, false, false
	return t
}()

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a quoted JSON string. s is valid UTF-8.
func appendJSONString[T string | []byte](dst []byte, s T) []byte {
	dst = append(dst, '"')
	dst = appendJSONEscaped(dst, s)
	return append(dst, '"')
}

// appendJSONEscaped appends s escaped for the inside of a JSON string.
func appendJSONEscaped[T string | []byte](dst []byte, s T) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if jsonSafe[c] {
			continue
		}
		if c == 0xE2 {
			if i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9) {
				dst = append(dst, s[last:i]...)
				dst = append(dst, `\u202`...)
				dst = append(dst, hexDigits[s[i+2]&0xF])
				i += 2
				last = i + 1
			}
			continue
		}
		dst = append(dst, s[last:i]...)
		switch c {
		case '"':
			dst = append(dst, '\\', '"')
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		last = i + 1
	}
	return append(dst, s[last:]...)
}

// AppendString appends s as a quoted JSON string, escaped as the
// translation escapes text: the frames around translated stanzas use it so
// that every string on the wire is written one way. Invalid UTF-8 in s
// becomes U+FFFD.
func AppendString(dst []byte, s string) []byte {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return appendJSONString(dst, s)
}

// value writes the decoded raw text or attribute value as a JSON string.
// Most values need no decoding: they are copied in one pass, which gives up
// and starts again through decodeXML at the first byte that needs it.
func (c *toJSON) value(dst, raw []byte, attr bool) []byte {
	start := len(dst)
	class := &textClass
	if attr {
		class = &attrClass
	}
	dst = append(dst, '"')
	last := 0
	for i := 0; i < len(raw); i++ {
		switch class[raw[i]] {
		case copyByte:
			continue
		case decodeByte:
			c.buf = decodeXML(c.buf[:0], raw, attr)
			return appendJSONString(dst[:start], c.buf)
		}
		n := 1
		if raw[i] == 0xE2 { // U+2028 and U+2029 are escaped, the rest of U+2xxx not
			if i+2 >= len(raw) || raw[i+1] != 0x80 || raw[i+2] != 0xA8 && raw[i+2] != 0xA9 {
				continue
			}
			n = 3
		}
		dst = append(dst, raw[last:i]...)
		dst = appendJSONEscaped(dst, raw[i:i+n])
		i += n - 1
		last = i + 1
	}
	dst = append(dst, raw[last:]...)
	return append(dst, '"')
}

// Byte classes for value: bytes copied as they are, bytes JSON escapes,
// bytes that need decodeXML first.
const (
	copyByte = iota
	escapeByte
	decodeByte
)

var textClass, attrClass = func() (text, attr [256]uint8) {
	for c := 0; c < 256; c++ {
		if !jsonSafe[c] {
			text[c] = escapeByte
		}
	}
	text['&'], text['<'], text['\r'] = decodeByte, decodeByte, decodeByte
	attr = text
	attr['<'] = copyByte // cannot be in a checked attribute value
	attr['\t'], attr['\n'] = decodeByte, decodeByte
	return text, attr
}()
