package jsonxlate

import "strconv"

// maxDepth is the deepest nesting AppendXML writes: xmlsplit's default, so
// that what it writes passes the checks every reader in the bridge makes.
const maxDepth = 64

// AppendXML appends the XML for one JSON stanza object (kind message,
// presence or iq, or kind "element"), as a self-contained element: the
// stanza carries xmlns='jabber:client', and every namespace it uses is
// declared inside it. The result is one element that xmlsplit.Parse
// accepts, ready to write upstream.
//
// Input that cannot be converted is an *Error naming the field, and dst is
// returned unchanged. A null member counts as absent. Members this version
// of the mapping does not define are errors, not ignored.
func AppendXML(dst, obj []byte) ([]byte, error) {
	nodes, err := parseJSON(obj)
	if err != nil {
		return dst, err
	}
	w := xmlWriterPool.Get().(*xmlWriter)
	defer w.release()
	w.n, w.b = nodes, dst
	kind := int32(-1)
	for m := nodes[0].first; m >= 0; m = nodes[m].next {
		if nodes[m].key == "kind" {
			kind = m
		}
	}
	if kind < 0 || nodes[kind].typ != jStr {
		return dst, &Error{Code: CodeUnknownKind, Field: "kind", Text: "kind must be message, presence, iq or element"}
	}
	switch k := nodes[kind].str; k {
	case "message":
		err = w.stanza(0, &message, nil)
	case "presence":
		err = w.stanza(0, &presence, nil)
	case "iq":
		err = w.stanza(0, &iq, nil)
	case "element":
		err = w.element(0)
	default:
		return dst, &Error{Code: CodeUnknownKind, Field: "kind", Text: strconv.Quote(k) + " is not a kind of stanza"}
	}
	if err != nil {
		return dst, err
	}
	return w.b, nil
}
