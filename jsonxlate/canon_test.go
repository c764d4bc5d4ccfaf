package jsonxlate

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

// This file is the test's own, deliberately plain reading of XML, written
// apart from xmltree.go so that the round-trip tests do not grade the
// package with its own code. It reads what xmlsplit accepted and reduces it
// to the information the mapping promises to keep: expanded names,
// attributes as a set, text as a processor reports it, element order. What
// may differ is thereby ignored: prefixes and where namespaces are
// declared, attribute order, quotes, how characters are escaped.
//
// White-space-only text is dropped directly inside the elements where the
// mapping may drop it: stanzas (message, presence, iq) and the elements of
// friendly fields whose content is only elements (error, carbon received
// and sent, forwarded, roster query and item). This is a little more
// lenient than the mapping, which keeps such text where those elements are
// shown in the generic form; TestWhitespaceKeptInGeneric checks that case.

type cnode struct {
	text  string // text node when elem is false
	elem  bool
	space string
	local string
	attrs map[string]string // "{space}local" → value
	kids  []*cnode
}

// canonical returns the canonical form of the element in b, read with the
// namespace declarations ns in force around it.
func canonical(b []byte, ns string) (string, error) {
	n, err := canonParse(b, ns)
	if err != nil {
		return "", err
	}
	n.dropSpace(false)
	var sb strings.Builder
	n.write(&sb)
	return sb.String(), nil
}

// canonicalStrict is canonical with white space dropped only directly
// inside the root.
func canonicalStrict(b []byte, ns string) (string, error) {
	n, err := canonParse(b, ns)
	if err != nil {
		return "", err
	}
	n.dropSpace(true)
	var sb strings.Builder
	n.write(&sb)
	return sb.String(), nil
}

func canonParse(b []byte, ns string) (*cnode, error) {
	// XML 1.0 §2.11: line ends are normalised before anything is parsed.
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	b = bytes.ReplaceAll(b, []byte("\r"), []byte("\n"))
	scope := map[string]string{"xml": nsXML}
	// The declarations borrowed from the stream header: read them as the
	// attributes of a wrapper element.
	wrapper := "<w" + strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(ns) + ">"
	r := &creader{b: []byte(wrapper)}
	if _, _, err := r.startTag(scope); err != nil {
		return nil, fmt.Errorf("ns: %w", err)
	}
	for k, v := range r.lastDecls {
		scope[k] = v
	}
	r = &creader{b: bytes.TrimSpace(b)}
	n, err := r.element(scope)
	if err != nil {
		return nil, err
	}
	if r.i != len(r.b) {
		return nil, fmt.Errorf("data after the element at %d", r.i)
	}
	return n, nil
}

type creader struct {
	b         []byte
	i         int
	lastDecls map[string]string
}

func (r *creader) startTag(outer map[string]string) (n *cnode, selfClosing bool, err error) {
	if r.i >= len(r.b) || r.b[r.i] != '<' {
		return nil, false, fmt.Errorf("expected '<' at %d", r.i)
	}
	r.i++
	start := r.i
	for r.i < len(r.b) && !strings.ContainsRune(" \t\n/>", rune(r.b[r.i])) {
		r.i++
	}
	qname := string(r.b[start:r.i])
	type rawAttr struct{ name, value string }
	var attrs []rawAttr
	decls := map[string]string{}
	for {
		for r.i < len(r.b) && strings.ContainsRune(" \t\n", rune(r.b[r.i])) {
			r.i++
		}
		if r.i >= len(r.b) {
			return nil, false, fmt.Errorf("unterminated start tag")
		}
		if r.b[r.i] == '>' {
			r.i++
			break
		}
		if r.b[r.i] == '/' {
			r.i += 2
			selfClosing = true
			break
		}
		eq := bytes.IndexByte(r.b[r.i:], '=')
		name := strings.TrimSpace(string(r.b[r.i : r.i+eq]))
		r.i += eq + 1
		for r.b[r.i] != '\'' && r.b[r.i] != '"' {
			r.i++
		}
		q := r.b[r.i]
		end := bytes.IndexByte(r.b[r.i+1:], q)
		raw := r.b[r.i+1 : r.i+1+end]
		r.i += end + 2
		// XML 1.0 §3.3.3: literal white space becomes a space, then
		// references are replaced.
		norm := bytes.Map(func(c rune) rune {
			if c == '\t' || c == '\n' {
				return ' '
			}
			return c
		}, raw)
		v, err := xmlsplit.Unescape(nil, norm)
		if err != nil {
			return nil, false, err
		}
		switch {
		case name == "xmlns":
			decls[""] = string(v)
		case strings.HasPrefix(name, "xmlns:"):
			decls[name[6:]] = string(v)
		default:
			attrs = append(attrs, rawAttr{name, string(v)})
		}
	}
	scope := map[string]string{}
	for k, v := range outer {
		scope[k] = v
	}
	for k, v := range decls {
		scope[k] = v
	}
	r.lastDecls = scope
	resolve := func(q string, attr bool) (string, string, error) {
		prefix, local, ok := strings.Cut(q, ":")
		if !ok {
			if attr {
				return "", q, nil
			}
			return scope[""], q, nil
		}
		uri, bound := scope[prefix]
		if !bound {
			return "", "", fmt.Errorf("unbound prefix %q", prefix)
		}
		return uri, local, nil
	}
	n = &cnode{elem: true, attrs: map[string]string{}}
	if n.space, n.local, err = resolve(qname, false); err != nil {
		return nil, false, err
	}
	for _, a := range attrs {
		s, l, err := resolve(a.name, true)
		if err != nil {
			return nil, false, err
		}
		n.attrs["{"+s+"}"+l] = a.value
	}
	return n, selfClosing, nil
}

func (r *creader) element(outer map[string]string) (*cnode, error) {
	n, selfClosing, err := r.startTag(outer)
	if err != nil || selfClosing {
		return n, err
	}
	scope := r.lastDecls
	var text []byte
	flush := func() {
		if len(text) > 0 {
			n.kids = append(n.kids, &cnode{text: string(text)})
			text = nil
		}
	}
	for {
		if r.i >= len(r.b) {
			return nil, fmt.Errorf("unterminated element")
		}
		switch {
		case bytes.HasPrefix(r.b[r.i:], []byte("</")):
			end := bytes.IndexByte(r.b[r.i:], '>')
			r.i += end + 1
			flush()
			return n, nil
		case bytes.HasPrefix(r.b[r.i:], []byte("<![CDATA[")):
			end := bytes.Index(r.b[r.i:], []byte("]]>"))
			text = append(text, r.b[r.i+9:r.i+end]...)
			r.i += end + 3
		case r.b[r.i] == '<':
			flush()
			kid, err := r.element(scope)
			if err != nil {
				return nil, err
			}
			n.kids = append(n.kids, kid)
		default:
			end := bytes.IndexByte(r.b[r.i:], '<')
			if end < 0 {
				end = len(r.b) - r.i
			}
			v, err := xmlsplit.Unescape(nil, r.b[r.i:r.i+end])
			if err != nil {
				return nil, err
			}
			text = append(text, v...)
			r.i += end
		}
	}
}

// elementOnly says where white-space-only text may be dropped.
func (n *cnode) elementOnly() bool {
	switch n.space + " " + n.local {
	case nsClient + " message", nsClient + " presence", nsClient + " iq", nsClient + " error",
		nsCarbons + " received", nsCarbons + " sent", nsForward + " forwarded",
		nsRoster + " query", nsRoster + " item":
		return true
	}
	return false
}

// dropSpace drops white-space-only text where the mapping may; rootOnly
// limits that to directly inside n.
func (n *cnode) dropSpace(rootOnly bool) {
	if n.elementOnly() {
		kids := n.kids[:0]
		for _, k := range n.kids {
			if !k.elem && strings.Trim(k.text, " \t\n") == "" {
				continue
			}
			kids = append(kids, k)
		}
		n.kids = kids
		// Text on both sides of dropped space is now adjacent.
		merged := n.kids[:0]
		for _, k := range n.kids {
			if l := len(merged); l > 0 && !k.elem && !merged[l-1].elem {
				merged[l-1] = &cnode{text: merged[l-1].text + k.text}
				continue
			}
			merged = append(merged, k)
		}
		n.kids = merged
	}
	if rootOnly {
		return
	}
	for _, k := range n.kids {
		if k.elem {
			k.dropSpace(false)
		}
	}
}

func (n *cnode) write(sb *strings.Builder) {
	if !n.elem {
		sb.WriteString(strconv.Quote(n.text))
		return
	}
	fmt.Fprintf(sb, "<{%s}%s", n.space, n.local)
	keys := make([]string, 0, len(n.attrs))
	for k := range n.attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(sb, " %s=%q", k, n.attrs[k])
	}
	sb.WriteString(">")
	for _, k := range n.kids {
		k.write(sb)
	}
	sb.WriteString("</>")
}

func TestCanonical(t *testing.T) {
	same := [][2]string{
		{`<a xmlns='u'><b/></a>`, `<p:a xmlns:p='u'><p:b/></p:a>`},
		{`<a x='1' y="2"/>`, `<a y='2' x='1'></a>`},
		{`<a>&#x41;&lt;<![CDATA[<]]></a>`, `<a>A&lt;&lt;</a>`},
		{"<a x='a\tb\r\nc'>x\r\ny\rz</a>", "<a x='a b c'>x\ny\nz</a>"},
		{`<message xmlns='jabber:client'> <body>x</body> </message>`, `<message xmlns='jabber:client'><body>x</body></message>`},
	}
	for _, c := range same {
		a, err1 := canonical([]byte(c[0]), "")
		b, err2 := canonical([]byte(c[1]), "")
		if err1 != nil || err2 != nil || a != b {
			t.Errorf("%s vs %s: %v %v\n%s\n%s", c[0], c[1], err1, err2, a, b)
		}
	}
	differ := [][2]string{
		{`<a xmlns='u'/>`, `<a xmlns='v'/>`},
		{`<a x='1'/>`, `<a x='2'/>`},
		{`<a><b/><c/></a>`, `<a><c/><b/></a>`},
		{`<a> <b/></a>`, `<a><b/></a>`},
		{`<a x='&#9;'/>`, "<a x='\t'/>"},
	}
	for _, c := range differ {
		a, _ := canonical([]byte(c[0]), "")
		b, _ := canonical([]byte(c[1]), "")
		if a == b {
			t.Errorf("%s and %s compare equal: %s", c[0], c[1], a)
		}
	}
}
