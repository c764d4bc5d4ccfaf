package jsonxlate

const nsRoster = "jabber:iq:roster"

// roster is the RFC 6121 §2 roster query in an iq: {"ver", "items"}, each
// item {"jid", "name", "subscription", "ask", "approved", "groups"}.
var rosterField = friendlyField{name: "roster", ns: nsRoster, local: "query",
	fits: (*toJSON).isRoster, toJSON: (*toJSON).roster, toXML: (*xmlWriter).roster}

// isRoster: <query xmlns='jabber:iq:roster' [ver]> with only <item/>s, each
// with only jid, name, subscription, ask and approved ('true' or 'false')
// and only <group/>s of text.
func (c *toJSON) isRoster(idx int32) bool {
	t := &c.t
	n := &t.nodes[idx]
	if string(n.local) != "query" || !c.attrsAmong(idx, "ver", "", "") {
		return false
	}
	for it := n.first; it >= 0; it = t.nodes[it].next {
		in := &t.nodes[it]
		if in.isText() {
			if !c.spaceText(it) {
				return false
			}
			continue
		}
		if string(in.ns) != nsRoster || string(in.local) != "item" {
			return false
		}
		for k := in.a0; k < in.a1; k++ {
			a := &t.attrs[k]
			if len(a.ns) != 0 {
				return false
			}
			switch string(a.local) {
			case "jid", "name", "subscription", "ask":
			case "approved":
				c.buf = decodeXML(c.buf[:0], a.raw, true)
				if string(c.buf) != "true" && string(c.buf) != "false" {
					return false
				}
			default:
				return false
			}
		}
		for g := in.first; g >= 0; g = t.nodes[g].next {
			gn := &t.nodes[g]
			if gn.isText() {
				if !c.spaceText(g) {
					return false
				}
				continue
			}
			if string(gn.ns) != nsRoster || string(gn.local) != "group" || gn.a0 != gn.a1 || !c.onlyText(g) {
				return false
			}
		}
	}
	return true
}

var rosterItemKeys = [...]string{"jid", "name", "subscription", "ask"}

func (c *toJSON) roster(dst []byte, idx int32) []byte {
	t := &c.t
	n := &t.nodes[idx]
	dst = append(dst, '{')
	if n.a1 > n.a0 {
		dst = append(dst, `"ver":`...)
		dst = c.value(dst, t.attrs[n.a0].raw, true)
		dst = append(dst, ',')
	}
	dst = append(dst, `"items":[`...)
	firstItem := true
	for it := n.first; it >= 0; it = t.nodes[it].next {
		in := &t.nodes[it]
		if in.isText() {
			continue
		}
		if !firstItem {
			dst = append(dst, ',')
		}
		firstItem = false
		dst = append(dst, '{')
		first := true
		for _, key := range rosterItemKeys {
			for k := in.a0; k < in.a1; k++ {
				if string(t.attrs[k].local) == key {
					if !first {
						dst = append(dst, ',')
					}
					first = false
					dst = append(dst, '"')
					dst = append(dst, key...)
					dst = append(dst, '"', ':')
					dst = c.value(dst, t.attrs[k].raw, true)
				}
			}
		}
		for k := in.a0; k < in.a1; k++ {
			if string(t.attrs[k].local) == "approved" {
				if !first {
					dst = append(dst, ',')
				}
				first = false
				c.buf = decodeXML(c.buf[:0], t.attrs[k].raw, true)
				dst = append(dst, `"approved":`...)
				dst = append(dst, c.buf...)
			}
		}
		firstGroup := true
		for g := in.first; g >= 0; g = t.nodes[g].next {
			if t.nodes[g].isText() {
				continue
			}
			switch {
			case firstGroup && first:
				dst = append(dst, `"groups":[`...)
			case firstGroup:
				dst = append(dst, `,"groups":[`...)
			default:
				dst = append(dst, ',')
			}
			firstGroup = false
			dst = c.textValue(dst, g)
		}
		if !firstGroup {
			dst = append(dst, ']')
		}
		dst = append(dst, '}')
	}
	return append(dst, "]}"...)
}

func (w *xmlWriter) roster(v, _ int32, p *path) *Error {
	p = field(p, "roster")
	if err := w.want(v, p, jObj); err != nil {
		return err
	}
	var ver, items int32 = -1, -1
	err := w.members(v, p, "a roster", func(key string, m int32) bool {
		switch key {
		case "ver":
			ver = m
		case "items":
			items = m
		default:
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	if err := w.open(p, "query", nsRoster); err != nil {
		return err
	}
	if ver >= 0 {
		s, err := w.str(ver, field(p, "ver"))
		if err != nil {
			return err
		}
		w.attr("ver", s)
	}
	mark := w.startEnd()
	if items >= 0 {
		ip := field(p, "items")
		if err := w.want(items, ip, jArr); err != nil {
			return err
		}
		i := 0
		for it := w.n[items].first; it >= 0; it, i = w.n[it].next, i+1 {
			if err := w.rosterItem(it, index(ip, i)); err != nil {
				return err
			}
		}
	}
	w.end(mark, "query")
	return nil
}

func (w *xmlWriter) rosterItem(v int32, p *path) *Error {
	if err := w.want(v, p, jObj); err != nil {
		return err
	}
	attrs := [4]int32{-1, -1, -1, -1}
	var approved, groups int32 = -1, -1
	err := w.members(v, p, "a roster item", func(key string, m int32) bool {
		switch key {
		case "jid":
			attrs[0] = m
		case "name":
			attrs[1] = m
		case "subscription":
			attrs[2] = m
		case "ask":
			attrs[3] = m
		case "approved":
			approved = m
		case "groups":
			groups = m
		default:
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	if err := w.open(p, "item", ""); err != nil {
		return err
	}
	for k, a := range attrs {
		if a >= 0 {
			s, err := w.str(a, field(p, rosterItemKeys[k]))
			if err != nil {
				return err
			}
			w.attr(rosterItemKeys[k], s)
		}
	}
	if approved >= 0 {
		switch w.n[approved].typ {
		case jTrue:
			w.attr("approved", "true")
		case jFalse:
			w.attr("approved", "false")
		default:
			return errAt(CodeBadValue, field(p, "approved"), "must be true or false")
		}
	}
	mark := w.startEnd()
	if groups >= 0 {
		gp := field(p, "groups")
		if err := w.want(groups, gp, jArr); err != nil {
			return err
		}
		i := 0
		for g := w.n[groups].first; g >= 0; g, i = w.n[g].next, i+1 {
			s, err := w.str(g, index(gp, i))
			if err != nil {
				return err
			}
			if err := w.leaf(p, "group", "", "", false, s); err != nil {
				return err
			}
		}
	}
	w.end(mark, "item")
	return nil
}
