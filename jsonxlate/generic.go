package jsonxlate

import (
	"strconv"
	"strings"

	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

// This file is the generic element form of docs/json.md, both ways: any
// element as {"name", "xmlns", "attrs", "children"}, losslessly. It is the
// form of payload, of an error's application condition, and of every
// top-level element that is not a stanza (kind "element").

// generic writes the lossless form of the element at idx, whose parent is
// in namespace parentNS.
func (c *toJSON) generic(dst []byte, idx int32, parentNS []byte) []byte {
	t := &c.t
	n := &t.nodes[idx]
	dst = append(dst, `{"name":`...)
	dst = appendJSONString(dst, n.local)
	if string(n.ns) != string(parentNS) {
		dst = append(dst, `,"xmlns":`...)
		dst = appendJSONString(dst, n.ns)
	}
	if n.a1 > n.a0 {
		dst = append(dst, `,"attrs":{`...)
		for k := n.a0; k < n.a1; k++ {
			if k > n.a0 {
				dst = append(dst, ',')
			}
			dst = c.attrMember(dst, k)
		}
		dst = append(dst, '}')
	}
	if n.first >= 0 {
		dst = append(dst, `,"children":[`...)
		for ch := n.first; ch >= 0; ch = t.nodes[ch].next {
			if ch != n.first {
				dst = append(dst, ',')
			}
			dst = c.child(dst, ch, n.ns)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

func (c *toJSON) child(dst []byte, idx int32, parentNS []byte) []byte {
	if n := &c.t.nodes[idx]; n.isText() {
		return c.value(dst, n.raw, false)
	}
	return c.generic(dst, idx, parentNS)
}

// attrMember writes "key":"value" for an attribute: the key is the local
// name, "xml:" and the local name, or "{namespace}" and the local name.
func (c *toJSON) attrMember(dst []byte, k int32) []byte {
	a := &c.t.attrs[k]
	dst = append(dst, '"')
	switch string(a.ns) {
	case "":
	case nsXML:
		dst = append(dst, "xml:"...)
	default:
		dst = append(dst, '{')
		dst = appendJSONEscaped(dst, a.ns)
		dst = append(dst, '}')
	}
	dst = appendJSONEscaped(dst, a.local)
	dst = append(dst, '"', ':')
	return c.value(dst, a.raw, true)
}

// element writes a frame of kind "element".
func (w *xmlWriter) element(m int32) *Error {
	el := int32(-1)
	err := w.members(m, nil, `an "element" frame`, func(key string, v int32) bool {
		switch key {
		case "kind":
		case "element":
			el = v
		default:
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	p := field(nil, "element")
	if el < 0 {
		return errAt(CodeMissingField, p, `a frame of kind "element" has an element`)
	}
	if err := w.want(el, p, jObj); err != nil {
		return err
	}
	ns := nsClient
	for c := w.n[el].first; c >= 0; c = w.n[c].next {
		if w.n[c].key == "xmlns" && w.n[c].typ == jStr {
			ns = w.n[c].str
		}
	}
	if ns == nsClient {
		for c := w.n[el].first; c >= 0; c = w.n[c].next {
			if nd := &w.n[c]; nd.key == "name" && nd.typ == jStr && (nd.str == "message" || nd.str == "presence" || nd.str == "iq") {
				return errAt(CodeBadValue, field(p, "name"), "a stanza is sent with kind "+strconv.Quote(nd.str))
			}
		}
	}
	// The element must mean the same in any context, such as a stream
	// whose default namespace is jabber:client: no default namespace is
	// taken as in scope, so the element declares its own, even an empty one.
	return w.generic(el, p, nsClient, noDefault)
}

// noDefault is a namespace name no JSON string can hold (badChar rejects
// NUL), standing for "no default namespace declared yet".
const noDefault = "\x00"

// generic writes the element at m in the lossless form; parentNS is the
// parent's namespace (what an absent xmlns means) and defNS the default
// namespace in scope where it is written.
func (w *xmlWriter) generic(m int32, p *path, parentNS, defNS string) *Error {
	if err := w.want(m, p, jObj); err != nil {
		return err
	}
	var name, xmlns, attrs, children int32 = -1, -1, -1, -1
	err := w.members(m, p, "an element", func(key string, v int32) bool {
		switch key {
		case "name":
			name = v
		case "xmlns":
			xmlns = v
		case "attrs":
			attrs = v
		case "children":
			children = v
		default:
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	if name < 0 {
		return errAt(CodeMissingField, field(p, "name"), "an element has a name")
	}
	local, err := w.name(name, field(p, "name"))
	if err != nil {
		return err
	}
	ns := parentNS
	if xmlns >= 0 {
		if ns, err = w.str(xmlns, field(p, "xmlns")); err != nil {
			return err
		}
		if ns == nsXMLNS {
			return errAt(CodeBadValue, field(p, "xmlns"), "no element is in the xmlns namespace")
		}
	}
	qname, decl := local, false
	switch {
	case ns == nsXML:
		qname = "xml:" + local // the one namespace that cannot be the default
	case ns != defNS:
		decl, defNS = true, ns
	}
	if err := w.open(p, qname, ""); err != nil {
		return err
	}
	if decl {
		w.attr("xmlns", ns) // xmlns='' when ns is empty
	}
	if attrs >= 0 {
		if err := w.attrs(attrs, field(p, "attrs"), false); err != nil {
			return err
		}
	}
	mark := w.startEnd()
	if children >= 0 {
		if err := w.children(children, field(p, "children"), ns, defNS); err != nil {
			return err
		}
	}
	w.end(mark, qname)
	return nil
}

// children writes an array of strings (text) and objects (elements).
func (w *xmlWriter) children(v int32, p *path, parentNS, defNS string) *Error {
	if err := w.want(v, p, jArr); err != nil {
		return err
	}
	i := 0
	for c := w.n[v].first; c >= 0; c, i = w.n[c].next, i+1 {
		if err := w.child(c, index(p, i), parentNS, defNS); err != nil {
			return err
		}
	}
	return nil
}

// child writes one entry of such an array.
func (w *xmlWriter) child(c int32, p *path, parentNS, defNS string) *Error {
	switch w.n[c].typ {
	case jStr:
		s, err := w.str(c, p)
		if err != nil {
			return err
		}
		w.text(s)
		return nil
	case jObj:
		return w.generic(c, p, parentNS, defNS)
	}
	return errAt(CodeBadValue, p, "must be a string or an object, not "+w.n[c].typ.String())
}

// attrs writes the attributes of the object at v. Keys are a name in no
// namespace, "xml:" and a name, or "{namespace}" and a name; a namespace is
// given a prefix ns1, ns2, ... declared on the same start tag. On a stanza
// the attributes that have fields of their own are not allowed here.
func (w *xmlWriter) attrs(v int32, p *path, stanza bool) *Error {
	if err := w.want(v, p, jObj); err != nil {
		return err
	}
	w.pfx = w.pfx[:0]
	var big map[string]int
	for c := w.n[v].first; c >= 0; c = w.n[c].next {
		nd := &w.n[c]
		if nd.badKey {
			return errAt(CodeBadValue, p, "an attribute name is not valid Unicode")
		}
		if nd.typ == jNull {
			continue
		}
		key := nd.key
		ap := field(p, key)
		value, err := w.str(c, ap)
		if err != nil {
			return err
		}
		var ns, local string
		switch {
		case strings.HasPrefix(key, "{"):
			end := strings.LastIndexByte(key, '}')
			if end < 0 {
				return errAt(CodeBadValue, ap, "a namespaced attribute is written {namespace}name")
			}
			ns, local = key[1:end], key[end+1:]
			switch {
			case ns == "":
				return errAt(CodeBadValue, ap, "an attribute in no namespace is written without {}")
			case ns == nsXML:
				return errAt(CodeBadValue, ap, "an attribute in the xml namespace is written xml:name")
			case ns == nsXMLNS:
				return errAt(CodeBadValue, ap, "namespace declarations are not attributes here")
			case xmlsplit.InvalidChar(ns) >= 0:
				return errAt(CodeBadValue, ap, "the namespace has a character XML does not allow")
			}
		case strings.HasPrefix(key, "xml:"):
			ns, local = nsXML, key[4:]
		default:
			local = key
		}
		if !xmlsplit.IsNCName(local) {
			return errAt(CodeBadValue, ap, strconv.Quote(key)+" is not an attribute name")
		}
		if ns == "" && local == "xmlns" {
			return errAt(CodeBadValue, ap, "namespace declarations are not attributes here")
		}
		if stanza && (ns == "" && (local == "id" || local == "type" || local == "from" || local == "to") || ns == nsXML && local == "lang") {
			return errAt(CodeBadValue, ap, "has a field of its own")
		}
		switch ns {
		case "":
			w.attr(local, value)
			continue
		case nsXML:
			w.attr(key, value)
			continue
		}
		k := -1
		if big != nil {
			if i, ok := big[ns]; ok {
				k = i
			}
		} else {
			for i, u := range w.pfx {
				if u == ns {
					k = i
					break
				}
			}
		}
		prefix := ""
		if k < 0 {
			w.pfx = append(w.pfx, ns)
			k = len(w.pfx) - 1
			prefix = "ns" + strconv.Itoa(k+1)
			w.attr("xmlns:"+prefix, ns)
			if big == nil && len(w.pfx) > 8 {
				big = make(map[string]int)
				for i, u := range w.pfx {
					big[u] = i
				}
			} else if big != nil {
				big[ns] = k
			}
		} else {
			prefix = "ns" + strconv.Itoa(k+1)
		}
		w.attr(prefix+":"+local, value)
	}
	return nil
}
