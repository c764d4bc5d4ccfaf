package jsonxlate

// This file has what the text fields of message and presence share: subject,
// body and status, <name>text</name> without attributes, and the lists of
// those with xml:lang, subjects, bodies and statuses, whose entries are
// {"lang", "text"}.

// plainText: <body>, <subject> or <status> with text and no attributes.
func (c *toJSON) plainText(idx int32) bool {
	return c.onlyText(idx) && c.t.nodes[idx].a0 == c.t.nodes[idx].a1
}

// langText: the same with xml:lang, and no other attribute: an entry of
// bodies, subjects or statuses.
func (c *toJSON) langText(idx int32) bool {
	n := &c.t.nodes[idx]
	return c.onlyText(idx) && n.a1 == n.a0+1 && c.attrIs(n.a0, nsXML, "lang")
}

// langTextEntry writes the entry of a list field for the child at idx.
func (c *toJSON) langTextEntry(dst []byte, idx int32) []byte {
	dst = append(dst, `{"lang":`...)
	dst = c.value(dst, c.t.attrs[c.t.nodes[idx].a0].raw, true)
	dst = append(dst, `,"text":`...)
	dst = c.textValue(dst, idx)
	return append(dst, '}')
}

// textChild writes <name>text</name> for the member name of the stanza at
// p, whose value is v.
func (w *xmlWriter) textChild(v int32, p *path, name string) *Error {
	s, err := w.str(v, field(p, name))
	if err != nil {
		return err
	}
	return w.leaf(p, name, "", "", false, s)
}

// langEntry writes the entry at e, path ep, of the list field fl
// (subjects, bodies or statuses).
func (w *xmlWriter) langEntry(e int32, ep *path, fl *friendlyField) *Error {
	name := fl.local
	if err := w.want(e, ep, jObj); err != nil {
		return err
	}
	var lang, text int32 = -1, -1
	err := w.members(e, ep, "a "+name, func(key string, v int32) bool {
		switch key {
		case "lang":
			lang = v
		case "text":
			text = v
		default:
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	if lang < 0 {
		return errAt(CodeMissingField, field(ep, "lang"), "each of "+fl.name+" has a lang (without one, use "+name+")")
	}
	l, err := w.str(lang, field(ep, "lang"))
	if err != nil {
		return err
	}
	t := ""
	if text >= 0 {
		if t, err = w.str(text, field(ep, "text")); err != nil {
			return err
		}
	}
	return w.leaf(ep, name, "", l, true, t)
}
