package xmlsplit

import "strings"

// escaper replaces the characters that may not stand as themselves in an
// attribute value or in text; the inverse of Unescape.
var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "'", "&apos;", "\"", "&quot;")

// AppendEscape appends s to dst, escaped for an attribute value (either
// quote) or for text.
func AppendEscape(dst []byte, s string) []byte {
	return append(dst, escaper.Replace(s)...)
}

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
