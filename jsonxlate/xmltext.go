package jsonxlate

import "unicode/utf8"

// This file decodes the raw text and attribute values of an element that
// xmlsplit has checked, the way an XML processor reports them (XML 1.0
// §2.11 line ends, §3.3.3 attribute values, §4.6 predefined entities,
// CDATA sections).

// needsDecode reports whether raw holds anything that decodeXML would
// change.
func needsDecode(raw []byte, attr bool) bool {
	for _, c := range raw {
		switch c {
		case '&', '<', '\r':
			return true
		case '\t', '\n':
			if attr {
				return true
			}
		}
	}
	return false
}

// decodeXML appends the value raw stands for: references replaced, CDATA
// sections unwrapped (text only), literal CR LF and CR made LF, and in
// attribute values literal tabs and line ends made spaces.
func decodeXML(dst, raw []byte, attr bool) []byte {
	last := 0
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '&':
			dst = append(dst, raw[last:i]...)
			r, n := reference(raw[i:])
			if n == 0 { // cannot happen in checked input; keep the byte
				dst = append(dst, '&')
				i++
			} else {
				dst = utf8.AppendRune(dst, r)
				i += n
			}
			last = i
		case c == '<' && !attr:
			dst = append(dst, raw[last:i]...)
			i = decodeCDATA(&dst, raw, i)
			last = i
		case c == '\r':
			dst = append(dst, raw[last:i]...)
			if attr {
				dst = append(dst, ' ')
			} else {
				dst = append(dst, '\n')
			}
			i++
			if i < len(raw) && raw[i] == '\n' {
				i++
			}
			last = i
		case attr && (c == '\t' || c == '\n'):
			dst = append(dst, raw[last:i]...)
			dst = append(dst, ' ')
			i++
			last = i
		default:
			i++
		}
	}
	return append(dst, raw[last:]...)
}

// decodeCDATA appends the content of the CDATA section at raw[i:] to *dst,
// with line ends made LF, and returns the offset after it.
func decodeCDATA(dst *[]byte, raw []byte, i int) int {
	const open, close = "<![CDATA[", "]]>"
	if len(raw)-i < len(open) || string(raw[i:i+len(open)]) != open {
		*dst = append(*dst, '<') // cannot happen in checked input
		return i + 1
	}
	i += len(open)
	last := i
	for ; i < len(raw); i++ {
		switch raw[i] {
		case ']':
			if len(raw)-i >= len(close) && string(raw[i:i+len(close)]) == close {
				*dst = append(*dst, raw[last:i]...)
				return i + len(close)
			}
		case '\r':
			*dst = append(*dst, raw[last:i]...)
			*dst = append(*dst, '\n')
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
			last = i + 1
		}
	}
	*dst = append(*dst, raw[last:]...)
	return i
}

// reference decodes the reference at the start of p and returns the
// character and the reference's length; n is 0 when p does not start with
// one.
func reference(p []byte) (r rune, n int) {
	end := -1
	for j := 1; j < len(p) && j < 12; j++ {
		if p[j] == ';' {
			end = j
			break
		}
	}
	if end < 0 {
		return 0, 0
	}
	body := p[1:end]
	switch string(body) {
	case "lt":
		return '<', end + 1
	case "gt":
		return '>', end + 1
	case "amp":
		return '&', end + 1
	case "apos":
		return '\'', end + 1
	case "quot":
		return '"', end + 1
	}
	if len(body) < 2 || body[0] != '#' {
		return 0, 0
	}
	digits, base := body[1:], rune(10)
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if len(digits) == 0 {
		return 0, 0
	}
	for _, c := range digits {
		var d rune
		switch {
		case '0' <= c && c <= '9':
			d = rune(c - '0')
		case base == 16 && 'a' <= c && c <= 'f':
			d = rune(c-'a') + 10
		case base == 16 && 'A' <= c && c <= 'F':
			d = rune(c-'A') + 10
		default:
			return 0, 0
		}
		r = r*base + d
		if r > utf8.MaxRune {
			return 0, 0
		}
	}
	return r, end + 1
}

// isSpaceOnly reports whether s holds only XML white space.
func isSpaceOnly(s []byte) bool {
	for _, c := range s {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}
