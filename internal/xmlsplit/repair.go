package xmlsplit

import "bytes"

// Repair rewrites an element that is well-formed XML but not
// namespace-well-formed into the equivalent that is, where one exists: the
// XML namespace declared as the default namespace or under a prefix other
// than xml. Servers write elements and attributes in that namespace so:
// Prosody relays <xml:x/> as <x xmlns='http://www.w3.org/XML/1998/namespace'/>
// and an attribute xml:foo as xmlns:ns1='…' ns1:foo. Repair writes such
// names with the prefix xml and leaves those declarations out; everything
// else stays byte for byte.
//
// What has no namespace-well-formed equivalent — an undeclared prefix, a
// name in the xmlns namespace, the prefix xmlns or xml declared wrongly, a
// prefix bound to the empty name, attributes that are the same once
// expanded, nesting past MaxDepth — is an error, and so is anything that is
// not one well-formed element. b must stand alone but for the prefixes
// opt.Context lists. The result passes Parse with opt; it is a new slice.
func Repair(b []byte, opt ParseOptions) ([]byte, error) {
	r := repairer{in: b, maxDepth: opt.maxDepth()}
	for _, p := range opt.Context {
		r.binds = append(r.binds, repairBind{prefix: string(p)})
	}
	r.ctx = len(r.binds)
	r.out = make([]byte, 0, len(b)+16)
	if err := r.run(); err != nil {
		return nil, err
	}
	if _, err := Parse(r.out, opt); err != nil {
		return nil, err
	}
	return r.out, nil
}

// CheckXMLNames reports an error when the namespace-well-formed element b
// uses a name in the XML namespace other than the attributes XML itself
// defines (xml:lang, xml:space, xml:base, xml:id). Servers relay other such
// names in forms their clients cannot read (the ones Repair mends), so a
// bridge that writes stanzas on a browser's behalf sends none.
func CheckXMLNames(b []byte, opt ParseOptions) error {
	r := repairer{in: b, maxDepth: opt.maxDepth(), check: true}
	for _, p := range opt.Context {
		r.binds = append(r.binds, repairBind{prefix: string(p)})
	}
	r.ctx = len(r.binds)
	return r.run()
}

// xmlAttrs are the attributes in the XML namespace that XML 1.0 and its
// companions define, which servers know.
var xmlAttrs = map[string]bool{"lang": true, "space": true, "base": true, "id": true}

// repairMax bounds the declarations in scope and the attributes of one tag
// that Repair handles, so that its simple lookups stay cheap on hostile
// input; real stanzas come nowhere near.
const repairMax = 64

// repairBind is a prefix ("" for the default namespace) in scope.
type repairBind struct {
	prefix string
	ns     string
}

type repairer struct {
	in, out  []byte
	pos      int
	maxDepth int
	binds    []repairBind
	ctx      int  // how many of binds come from ParseOptions.Context
	check    bool // CheckXMLNames: refuse names in the XML namespace
	// open holds, for each open element, the name written for it and
	// len(binds) before its declarations.
	open []repairOpen
}

type repairOpen struct {
	name  []byte
	nbind int
}

func (r *repairer) fail(msg string) error {
	if r.check {
		return &SyntaxError{Cond: NotWellFormed, Offset: r.pos, Msg: msg}
	}
	return &SyntaxError{Cond: NotWellFormed, Offset: r.pos, Msg: "cannot repair: " + msg}
}

func (r *repairer) run() error {
	in := r.in
	r.pos = skipSpace(in, 0)
	started := false
	for r.pos < len(in) {
		if len(r.open) == 0 && started {
			if skipSpace(in, r.pos) == len(in) {
				return nil
			}
			return r.fail("more than one element")
		}
		if in[r.pos] != '<' {
			if !started {
				return r.fail("text outside the element")
			}
			next := bytes.IndexByte(in[r.pos:], '<')
			if next < 0 {
				return r.fail("unexpected end of input")
			}
			r.out = append(r.out, in[r.pos:r.pos+next]...)
			r.pos += next
			continue
		}
		rest := in[r.pos:]
		switch {
		case bytes.HasPrefix(rest, cdataOpen):
			end := bytes.Index(rest, []byte("]]>"))
			if end < 0 || !started {
				return r.fail("bad CDATA section")
			}
			r.out = append(r.out, rest[:end+3]...)
			r.pos += end + 3
		case len(rest) > 1 && rest[1] == '/':
			if err := r.endTag(); err != nil {
				return err
			}
		case len(rest) > 1 && (rest[1] == '!' || rest[1] == '?'):
			return r.fail("markup XMPP does not allow")
		default:
			started = true
			if err := r.startTag(); err != nil {
				return err
			}
		}
	}
	if len(r.open) > 0 || !started {
		return r.fail("unexpected end of input")
	}
	return nil
}

// tagAttr is one attribute of the start tag being repaired, as offsets
// into the input.
type tagAttr struct {
	from        int // where the whitespace before it starts
	name, value span
	keep        bool
}

func (r *repairer) startTag() error {
	in := r.in
	p := r.pos + 1
	nameEnd := p
	for nameEnd < len(in) && !isSpace(in[nameEnd]) && in[nameEnd] != '>' && in[nameEnd] != '/' {
		nameEnd++
	}
	name := in[p:nameEnd]
	if len(name) == 0 {
		return r.fail("empty element name")
	}
	var attrs []tagAttr
	p = nameEnd
	tail := p // where what follows the last attribute starts
	selfClosing := false
	for {
		from := p
		p = skipSpace(in, p)
		if p >= len(in) {
			return r.fail("unexpected end of input")
		}
		if in[p] == '>' {
			p++
			break
		}
		if in[p] == '/' {
			if p+1 >= len(in) || in[p+1] != '>' {
				return r.fail("bad empty-element tag")
			}
			p += 2
			selfClosing = true
			break
		}
		a := tagAttr{from: from, keep: true}
		a.name.start = p
		for p < len(in) && in[p] != '=' && !isSpace(in[p]) && in[p] != '>' {
			p++
		}
		a.name.end = p
		p = skipSpace(in, p)
		if p >= len(in) || in[p] != '=' {
			return r.fail("attribute without a value")
		}
		p = skipSpace(in, p+1)
		if p >= len(in) || in[p] != '\'' && in[p] != '"' {
			return r.fail("unquoted attribute value")
		}
		q := bytes.IndexByte(in[p+1:], in[p])
		if q < 0 {
			return r.fail("unterminated attribute value")
		}
		a.value = span{p + 1, p + 1 + q}
		p += q + 2
		attrs = append(attrs, a)
		tail = p
		if len(attrs) > repairMax {
			return r.fail("too many attributes")
		}
	}
	if len(r.open)+1 > r.maxDepth {
		return r.fail("elements nested deeper than " + itoa(r.maxDepth))
	}

	nbind := len(r.binds)
	for i := range attrs {
		a := &attrs[i]
		an := in[a.name.start:a.name.end]
		prefix, isDecl := "", false
		switch {
		case string(an) == "xmlns":
			isDecl = true
		case bytes.HasPrefix(an, []byte("xmlns:")):
			prefix, isDecl = string(an[len("xmlns:"):]), true
		}
		if !isDecl {
			continue
		}
		v := in[a.value.start:a.value.end]
		if bytes.IndexByte(v, '&') >= 0 {
			dv, err := Unescape(nil, v)
			if err != nil {
				return r.fail("bad namespace name")
			}
			v = dv
		}
		ns := string(v)
		switch {
		case prefix == "xmlns":
			return r.fail("the prefix xmlns declared")
		case prefix == "xml":
			if ns != nsXML {
				return r.fail("the prefix xml bound to another namespace")
			}
			continue
		case prefix != "" && ns == "":
			return r.fail("a prefix bound to the empty namespace name")
		case ns == nsXML || ns == nsXMLNS:
			// Written with the prefix xml where used (or refused, for
			// xmlns), so the declaration goes.
			a.keep = false
		}
		r.binds = append(r.binds, repairBind{prefix: prefix, ns: ns})
		if len(r.binds) > repairMax+r.ctx {
			return r.fail("too many namespace declarations")
		}
	}

	start := len(r.out)
	r.out = append(r.out, '<')
	var err error
	if r.out, err = r.appendName(r.out, name, true); err != nil {
		return err
	}
	nameLen := len(r.out) - start - 1

	type expanded struct{ ns, local string }
	var seen []expanded
	for i := range attrs {
		a := &attrs[i]
		if !a.keep {
			continue
		}
		an := in[a.name.start:a.name.end]
		r.out = append(r.out, in[a.from:a.name.start]...)
		if string(an) != "xmlns" && !bytes.HasPrefix(an, []byte("xmlns:")) {
			ns, local := "", string(an)
			if c := bytes.IndexByte(an, ':'); c >= 0 {
				var ok bool
				if ns, ok = r.lookup(string(an[:c])); !ok {
					return r.fail("undeclared namespace prefix " + quote(an[:c]))
				}
				local = string(an[c+1:])
			}
			for _, e := range seen {
				if e.ns == ns && e.local == local {
					return r.fail("attribute " + quote(an) + " duplicates another")
				}
			}
			seen = append(seen, expanded{ns, local})
			if r.out, err = r.appendName(r.out, an, false); err != nil {
				return err
			}
		} else {
			r.out = append(r.out, an...)
		}
		r.out = append(r.out, in[a.name.end:a.value.end+1]...)
	}
	r.out = append(r.out, in[tail:p]...)
	r.pos = p
	if selfClosing {
		r.binds = r.binds[:nbind]
		return nil
	}
	nameCopy := append([]byte(nil), r.out[start+1:start+1+nameLen]...)
	r.open = append(r.open, repairOpen{name: nameCopy, nbind: nbind})
	return nil
}

func (r *repairer) endTag() error {
	in := r.in
	end := bytes.IndexByte(in[r.pos:], '>')
	if end < 0 || len(r.open) == 0 {
		return r.fail("unmatched end tag")
	}
	top := r.open[len(r.open)-1]
	r.open = r.open[:len(r.open)-1]
	r.binds = r.binds[:top.nbind]
	nameEnd := r.pos + 2
	for nameEnd < len(in) && !isSpace(in[nameEnd]) && in[nameEnd] != '>' {
		nameEnd++
	}
	r.out = append(r.out, "</"...)
	r.out = append(r.out, top.name...)
	r.out = append(r.out, in[nameEnd:r.pos+end+1]...)
	r.pos += end + 1
	return nil
}

// appendName appends an element or attribute name as it must be written:
// with the prefix xml when it is in the XML namespace.
func (r *repairer) appendName(dst, qname []byte, element bool) ([]byte, error) {
	prefix, local := []byte(nil), qname
	if c := bytes.IndexByte(qname, ':'); c >= 0 {
		prefix, local = qname[:c], qname[c+1:]
	}
	if !element && prefix == nil {
		return append(dst, qname...), nil // unprefixed attributes have no namespace
	}
	if string(prefix) == "xmlns" {
		return nil, r.fail("a name with the prefix xmlns")
	}
	ns, ok := r.lookup(string(prefix))
	switch {
	case !ok && prefix != nil:
		return nil, r.fail("undeclared namespace prefix " + quote(prefix))
	case ns == nsXMLNS:
		return nil, r.fail("a name in the namespace " + nsXMLNS)
	case ns == nsXML:
		if r.check && (element || !xmlAttrs[string(local)]) {
			return nil, r.fail(quote(qname) + " is in the XML namespace")
		}
		dst = append(dst, "xml:"...)
		return append(dst, local...), nil
	}
	return append(dst, qname...), nil
}

// lookup returns the namespace bound to prefix; the default namespace is
// "" when nothing binds it.
func (r *repairer) lookup(prefix string) (string, bool) {
	if prefix == "xml" {
		return nsXML, true
	}
	for i := len(r.binds) - 1; i >= 0; i-- {
		if r.binds[i].prefix == prefix {
			return r.binds[i].ns, true
		}
	}
	return "", prefix == ""
}
