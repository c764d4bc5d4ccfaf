package jsonxlate

import (
	"strconv"
	"strings"
	"sync"

	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

// This file is how AppendXML writes XML from the parsed JSON: an xmlWriter
// reads the members of an object (checked strings, names) and writes
// elements, and a path names the field in an error.

// path names a field for errors; it is built only when one is reported.
type path struct {
	up  *path
	key string
	idx int // >= 0: an array element
}

func (p *path) String() string {
	var segs []string
	for q := p; q != nil; q = q.up {
		switch {
		case q.idx >= 0:
			segs = append(segs, "["+strconv.Itoa(q.idx)+"]")
		case xmlsplit.IsNCName(q.key) && !strings.Contains(q.key, "."):
			segs = append(segs, "."+q.key)
		default:
			segs = append(segs, "["+strconv.Quote(q.key)+"]")
		}
	}
	var sb strings.Builder
	for i := len(segs) - 1; i >= 0; i-- {
		sb.WriteString(segs[i])
	}
	return strings.TrimPrefix(sb.String(), ".")
}

func field(up *path, key string) *path { return &path{up: up, key: key, idx: -1} }
func index(up *path, i int) *path      { return &path{up: up, idx: i} }

func errAt(code string, p *path, text string) *Error {
	return &Error{Code: code, Field: p.String(), Text: text}
}

type xmlWriter struct {
	n     []jnode
	b     []byte
	depth int
	pfx   []string // namespaces given a prefix on the current start tag
}

// xmlWriterPool keeps AppendXML's writers: the friendly fields are written
// through function values (friendlyField.toXML), which would move a writer
// on the stack to the heap on every call.
var xmlWriterPool = sync.Pool{New: func() any { return new(xmlWriter) }}

func (w *xmlWriter) release() {
	if cap(w.pfx) > 64 {
		return // grown by a large element: let it go
	}
	clear(w.pfx[:cap(w.pfx)])
	*w = xmlWriter{pfx: w.pfx[:0]}
	xmlWriterPool.Put(w)
}

// members calls fn for each member of the object at m that is not null;
// fn returns false for a member it does not know.
func (w *xmlWriter) members(m int32, p *path, what string, fn func(key string, v int32) bool) *Error {
	for c := w.n[m].first; c >= 0; c = w.n[c].next {
		nd := &w.n[c]
		if nd.badKey {
			return errAt(CodeBadValue, p, "a member name is not valid Unicode")
		}
		if nd.typ == jNull {
			continue
		}
		if !fn(nd.key, c) {
			return errAt(CodeBadValue, field(p, nd.key), "not a field of "+what)
		}
	}
	return nil
}

func (w *xmlWriter) want(v int32, p *path, t jtype) *Error {
	if w.n[v].typ != t {
		return errAt(CodeBadValue, p, "must be "+t.String()+", not "+w.n[v].typ.String())
	}
	return nil
}

// str returns the string at v, checked for XML.
func (w *xmlWriter) str(v int32, p *path) (string, *Error) {
	if err := w.want(v, p, jStr); err != nil {
		return "", err
	}
	nd := &w.n[v]
	if nd.bad {
		return "", errAt(CodeBadValue, p, "not valid Unicode (invalid UTF-8 or a lone surrogate)")
	}
	if i := xmlsplit.InvalidChar(nd.str); i >= 0 {
		r := []rune(nd.str[i:])[0]
		return "", errAt(CodeBadValue, p, "character "+strconv.QuoteRuneToASCII(r)+" is not allowed in XML")
	}
	return nd.str, nil
}

func (w *xmlWriter) name(v int32, p *path) (string, *Error) {
	s, err := w.str(v, p)
	if err != nil {
		return "", err
	}
	if !xmlsplit.IsNCName(s) {
		return "", errAt(CodeBadValue, p, strconv.Quote(s)+" is not an XML name without a colon")
	}
	return s, nil
}

// open starts an element; ns is declared as the default namespace unless
// empty. The caller closes the start tag with startEnd.
func (w *xmlWriter) open(p *path, name, ns string) *Error {
	w.depth++
	if w.depth > maxDepth {
		return errAt(CodeTooLarge, p, "nested deeper than "+strconv.Itoa(maxDepth)+" elements")
	}
	w.b = append(w.b, '<')
	w.b = append(w.b, name...)
	if ns != "" {
		w.attr("xmlns", ns)
	}
	return nil
}

// attr writes ` name='value'`; value has been checked.
func (w *xmlWriter) attr(name, value string) {
	w.b = append(w.b, ' ')
	w.b = append(w.b, name...)
	w.b = append(w.b, '=', '\'')
	w.b = xmlsplit.AppendEscape(w.b, value)
	w.b = append(w.b, '\'')
}

// startEnd ends a start tag and returns the mark that end needs.
func (w *xmlWriter) startEnd() int {
	w.b = append(w.b, '>')
	return len(w.b)
}

// end closes the element begun at mark: as <x/> when nothing was written
// inside it.
func (w *xmlWriter) end(mark int, name string) {
	w.depth--
	if len(w.b) == mark {
		w.b = append(w.b[:mark-1], '/', '>')
		return
	}
	w.b = append(w.b, '<', '/')
	w.b = append(w.b, name...)
	w.b = append(w.b, '>')
}

func (w *xmlWriter) text(s string) {
	w.b = xmlsplit.AppendText(w.b, s)
}

// leaf writes <name [xmlns] [xml:lang]>text</name>.
func (w *xmlWriter) leaf(p *path, name, ns, lang string, hasLang bool, text string) *Error {
	if err := w.open(p, name, ns); err != nil {
		return err
	}
	if hasLang {
		w.attr("xml:lang", lang)
	}
	mark := w.startEnd()
	w.text(text)
	w.end(mark, name)
	return nil
}

// empty writes <name xmlns='ns'/>.
func (w *xmlWriter) empty(p *path, name, ns string) {
	w.open(p, name, ns) // depth is checked by the parent's children
	w.b = append(w.b, '/', '>')
	w.depth--
}
