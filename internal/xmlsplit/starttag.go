package xmlsplit

// StartTagEnd returns the offset just past the '>' that ends the start tag
// beginning at raw[0], scanning from 'from' (0, or past the element's name);
// quoted attribute values may hold '>'. It is meant for elements this
// package has already checked; len(raw) when there is no '>'.
func StartTagEnd(raw []byte, from int) int {
	var quote byte
	for i := from; i < len(raw); i++ {
		switch c := raw[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '>':
			return i + 1
		}
	}
	return len(raw)
}
