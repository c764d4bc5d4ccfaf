package jsonxlate

const nsStanzas = "urn:ietf:params:xml:ns:xmpp-stanzas"

// error is the stanza error of RFC 6120 §8.3, in any stanza:
// {"type", "condition", "text", "text_lang", "by", "code", "app"}, the
// application-specific condition in the generic form.
var errorField = friendlyField{name: "error", ns: nsClient, local: "error",
	fits: (*toJSON).isError, toJSON: (*toJSON).stanzaError, toXML: (*xmlWriter).stanzaError}

// isError: <error [type] [by] [code]><condition xmlns='…stanzas'/>
// [<text xmlns='…stanzas' [xml:lang]>…</text>][<app-specific/>]</error>.
func (c *toJSON) isError(idx int32) bool {
	t := &c.t
	n := &t.nodes[idx]
	for k := n.a0; k < n.a1; k++ {
		a := &t.attrs[k]
		if len(a.ns) != 0 {
			return false
		}
		switch string(a.local) {
		case "type", "by", "code":
		default:
			return false
		}
	}
	k, ok := c.onlyElements(idx, 3)
	kids := k.list()
	if !ok || len(kids) == 0 {
		return false
	}
	cond := &t.nodes[kids[0]]
	if string(cond.ns) != nsStanzas || string(cond.local) == "text" || cond.first >= 0 || cond.a0 != cond.a1 {
		return false
	}
	rest := kids[1:]
	if len(rest) > 0 && c.isErrorText(rest[0]) {
		rest = rest[1:]
	}
	switch len(rest) {
	case 0:
		return true
	case 1:
		return string(t.nodes[rest[0]].ns) != nsStanzas
	}
	return false
}

func (c *toJSON) isErrorText(idx int32) bool {
	n := &c.t.nodes[idx]
	if string(n.ns) != nsStanzas || string(n.local) != "text" || !c.onlyText(idx) {
		return false
	}
	return n.a0 == n.a1 || n.a1 == n.a0+1 && c.attrIs(n.a0, nsXML, "lang")
}

func (c *toJSON) stanzaError(dst []byte, idx int32) []byte {
	t := &c.t
	n := &t.nodes[idx]
	k, _ := c.onlyElements(idx, 3)
	kids := k.list()
	dst = append(dst, '{')
	var typ, by, code int32 = -1, -1, -1
	for k := n.a0; k < n.a1; k++ {
		switch string(t.attrs[k].local) {
		case "type":
			typ = k
		case "by":
			by = k
		default:
			code = k
		}
	}
	if typ >= 0 {
		dst = append(dst, `"type":`...)
		dst = c.value(dst, t.attrs[typ].raw, true)
		dst = append(dst, ',')
	}
	dst = append(dst, `"condition":`...)
	dst = appendJSONString(dst, t.nodes[kids[0]].local)
	rest := kids[1:]
	if len(rest) > 0 && c.isErrorText(rest[0]) {
		tx := &t.nodes[rest[0]]
		dst = append(dst, `,"text":`...)
		dst = c.textValue(dst, rest[0])
		if tx.a1 > tx.a0 {
			dst = append(dst, `,"text_lang":`...)
			dst = c.value(dst, t.attrs[tx.a0].raw, true)
		}
		rest = rest[1:]
	}
	if by >= 0 {
		dst = append(dst, `,"by":`...)
		dst = c.value(dst, t.attrs[by].raw, true)
	}
	if code >= 0 {
		dst = append(dst, `,"code":`...)
		dst = c.value(dst, t.attrs[code].raw, true)
	}
	if len(rest) > 0 {
		dst = append(dst, `,"app":`...)
		dst = c.generic(dst, rest[0], n.ns)
	}
	return append(dst, '}')
}

func (w *xmlWriter) stanzaError(v, _ int32, p *path) *Error {
	p = field(p, "error")
	if err := w.want(v, p, jObj); err != nil {
		return err
	}
	var typ, cond, text, textLang, by, code, app int32 = -1, -1, -1, -1, -1, -1, -1
	err := w.members(v, p, "an error", func(key string, m int32) bool {
		switch key {
		case "type":
			typ = m
		case "condition":
			cond = m
		case "text":
			text = m
		case "text_lang":
			textLang = m
		case "by":
			by = m
		case "code":
			code = m
		case "app":
			app = m
		default:
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	if cond < 0 {
		return errAt(CodeMissingField, field(p, "condition"), "an error has a condition")
	}
	if textLang >= 0 && text < 0 {
		return errAt(CodeMissingField, field(p, "text"), "text_lang needs text")
	}
	c, err := w.name(cond, field(p, "condition"))
	if err != nil {
		return err
	}
	if c == "text" {
		return errAt(CodeBadValue, field(p, "condition"), `"text" is not a condition`)
	}
	if err := w.open(p, "error", ""); err != nil {
		return err
	}
	for _, a := range [...]struct {
		v   int32
		key string
	}{{typ, "type"}, {by, "by"}, {code, "code"}} {
		if a.v >= 0 {
			s, err := w.str(a.v, field(p, a.key))
			if err != nil {
				return err
			}
			w.attr(a.key, s)
		}
	}
	mark := w.startEnd()
	if err := w.open(p, c, nsStanzas); err != nil {
		return err
	}
	w.end(w.startEnd(), c)
	if text >= 0 {
		s, err := w.str(text, field(p, "text"))
		if err != nil {
			return err
		}
		l, hasLang := "", textLang >= 0
		if hasLang {
			if l, err = w.str(textLang, field(p, "text_lang")); err != nil {
				return err
			}
		}
		if err := w.leaf(p, "text", nsStanzas, l, hasLang, s); err != nil {
			return err
		}
	}
	if app >= 0 {
		ap := field(p, "app")
		if err := w.want(app, ap, jObj); err != nil {
			return err
		}
		for m := w.n[app].first; m >= 0; m = w.n[m].next {
			if w.n[m].key == "xmlns" && w.n[m].typ == jStr && w.n[m].str == nsStanzas {
				return errAt(CodeBadValue, field(ap, "xmlns"), "an application condition is not in the stanza error namespace")
			}
		}
		if err := w.generic(app, ap, nsClient, nsClient); err != nil {
			return err
		}
	}
	w.end(mark, "error")
	return nil
}
