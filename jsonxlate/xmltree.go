package jsonxlate

import "bytes"

// This file turns one element that xmlsplit has already checked into a flat
// tree of nodes with expanded names, without copying its bytes. Because the
// input is known to be well-formed, the scanner only finds boundaries; it
// still checks every index, so that input it was not meant for gives an
// error rather than a panic.

// node is an element or a run of character data.
type node struct {
	local []byte // element's local name; nil for text
	ns    []byte // element's namespace name; empty for none
	raw   []byte // text: the raw bytes, references and CDATA sections included
	a0    int32  // element's attributes are tree.attrs[a0:a1]
	a1    int32
	first int32 // first child, or -1
	next  int32 // next sibling, or -1
}

func (n *node) isText() bool { return n.local == nil }

// attr is one attribute that is not a namespace declaration.
type attr struct {
	local []byte
	ns    []byte // empty: no namespace
	raw   []byte // raw value, as between the quotes
	qname []byte // as written, until resolved
}

// binding is one in-scope namespace declaration; an empty prefix is the
// default namespace.
type binding struct {
	prefix []byte
	uri    []byte
}

type tree struct {
	nodes []node
	attrs []attr
	binds []binding
	open  []int32 // open elements
	last  []int32 // last child of each open element, or -1
	marks []int32 // len(binds) when each open element started
	buf   []byte  // scratch
}

type malformed struct{}

func (malformed) Error() string { return "element is not as xmlsplit checked it" }

var errMalformed error = malformed{}

// nsXMLBytes is what the xml prefix is bound to.
var nsXMLBytes = []byte(nsXML)

// build describes the element in b; outer holds the bindings in force
// around it. The root is nodes[0].
func (t *tree) build(b []byte, outer []binding) error {
	t.nodes, t.attrs, t.open, t.last, t.marks = t.nodes[:0], t.attrs[:0], t.open[:0], t.last[:0], t.marks[:0]
	t.binds = append(t.binds[:0], outer...)
	i := 0
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	for i < len(b) {
		if b[i] != '<' || i+1 < len(b) && b[i+1] == '!' {
			if len(t.open) == 0 {
				return errMalformed
			}
			j := textEnd(b, i)
			if !t.emptyText(b[i:j]) {
				t.addNode(node{raw: b[i:j:j], first: -1, next: -1})
			}
			i = j
			continue
		}
		if i+1 >= len(b) {
			return errMalformed
		}
		if b[i+1] == '/' {
			j := indexByte(b, i, '>')
			if j < 0 || len(t.open) == 0 {
				return errMalformed
			}
			t.pop()
			i = j + 1
			if len(t.open) == 0 {
				break
			}
			continue
		}
		if len(t.open) == 0 && len(t.nodes) > 0 {
			return errMalformed
		}
		j, err := t.startTag(b, i)
		if err != nil {
			return err
		}
		i = j
		if len(t.open) == 0 {
			break
		}
	}
	if len(t.nodes) == 0 || len(t.open) != 0 {
		return errMalformed
	}
	return nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func indexByte(b []byte, from int, c byte) int {
	if from >= len(b) {
		return -1
	}
	if j := bytes.IndexByte(b[from:], c); j >= 0 {
		return from + j
	}
	return -1
}

// textEnd returns the end of the character data (CDATA sections included)
// that starts at b[i].
func textEnd(b []byte, i int) int {
	for i < len(b) {
		if j := bytes.IndexByte(b[i:], '<'); j > 0 {
			i += j
		} else if j < 0 {
			return len(b)
		}
		if len(b)-i >= 9 && string(b[i:i+9]) == "<![CDATA[" {
			i += 9
			for i < len(b) && !(b[i] == ']' && len(b)-i >= 3 && b[i+1] == ']' && b[i+2] == '>') {
				i++
			}
			i += 3
			continue
		}
		return i
	}
	return len(b)
}

// addNode appends n as the last child of the innermost open element.
func (t *tree) addNode(n node) int32 {
	idx := int32(len(t.nodes))
	t.nodes = append(t.nodes, n)
	if k := len(t.open) - 1; k >= 0 {
		if prev := t.last[k]; prev >= 0 {
			t.nodes[prev].next = idx
		} else {
			t.nodes[t.open[k]].first = idx
		}
		t.last[k] = idx
	}
	return idx
}

func (t *tree) pop() {
	k := len(t.open) - 1
	t.binds = t.binds[:t.marks[k]]
	t.open, t.last, t.marks = t.open[:k], t.last[:k], t.marks[:k]
}

// startTag reads the start tag at b[i] and returns the offset after it.
func (t *tree) startTag(b []byte, i int) (int, error) {
	i++
	j := i
	for j < len(b) && !isSpace(b[j]) && b[j] != '/' && b[j] != '>' {
		j++
	}
	qname := b[i:j:j]
	mark := int32(len(t.binds))
	a0 := int32(len(t.attrs))
	selfClosing := false
	for {
		for j < len(b) && isSpace(b[j]) {
			j++
		}
		if j >= len(b) {
			return 0, errMalformed
		}
		if b[j] == '>' {
			j++
			break
		}
		if b[j] == '/' {
			if j+1 >= len(b) || b[j+1] != '>' {
				return 0, errMalformed
			}
			selfClosing = true
			j += 2
			break
		}
		ns := j
		for j < len(b) && b[j] != '=' && !isSpace(b[j]) {
			j++
		}
		name := b[ns:j:j]
		for j < len(b) && (isSpace(b[j]) || b[j] == '=') {
			j++
		}
		if j >= len(b) || b[j] != '\'' && b[j] != '"' {
			return 0, errMalformed
		}
		vs := j + 1
		ve := indexByte(b, vs, b[j])
		if ve < 0 {
			return 0, errMalformed
		}
		value := b[vs:ve:ve]
		j = ve + 1
		switch {
		case string(name) == "xmlns":
			t.binds = append(t.binds, binding{prefix: nil, uri: nsValue(value)})
		case len(name) > 6 && string(name[:6]) == "xmlns:":
			t.binds = append(t.binds, binding{prefix: name[6:], uri: nsValue(value)})
		default:
			t.attrs = append(t.attrs, attr{qname: name, raw: value})
		}
	}
	for k := a0; k < int32(len(t.attrs)); k++ {
		a := &t.attrs[k]
		prefix, local := splitQName(a.qname)
		a.local = local
		if prefix != nil {
			uri, ok := t.lookup(prefix)
			if !ok {
				return 0, errMalformed
			}
			a.ns = uri
		}
	}
	prefix, local := splitQName(qname)
	uri, ok := t.lookup(prefix)
	if !ok || len(local) == 0 {
		return 0, errMalformed
	}
	idx := t.addNode(node{local: local, ns: uri, a0: a0, a1: int32(len(t.attrs)), first: -1, next: -1})
	if selfClosing {
		t.binds = t.binds[:mark]
	} else {
		t.open = append(t.open, idx)
		t.last = append(t.last, -1)
		t.marks = append(t.marks, mark)
	}
	return j, nil
}

// nsValue returns a namespace name as an XML processor reports it; only a
// value with references or literal white space other than spaces is copied.
func nsValue(raw []byte) []byte {
	if !needsDecode(raw, true) {
		return raw
	}
	return decodeXML(nil, raw, true)
}

func splitQName(q []byte) (prefix, local []byte) {
	for k, c := range q {
		if c == ':' {
			return q[:k:k], q[k+1:]
		}
	}
	return nil, q
}

// lookup resolves a prefix (nil: the default namespace, which is empty when
// undeclared).
func (t *tree) lookup(prefix []byte) ([]byte, bool) {
	if string(prefix) == "xml" {
		return nsXMLBytes, true
	}
	for k := len(t.binds) - 1; k >= 0; k-- {
		if string(t.binds[k].prefix) == string(prefix) {
			return t.binds[k].uri, true
		}
	}
	return nil, len(prefix) == 0
}

// emptyText reports whether raw stands for no characters at all: nothing
// but empty CDATA sections, which an XML processor does not report.
func (t *tree) emptyText(raw []byte) bool {
	if len(raw) == 0 || raw[0] != '<' {
		return len(raw) == 0
	}
	t.buf = decodeXML(t.buf[:0], raw, false)
	return len(t.buf) == 0
}
