package jsonxlate

const nsDelay = "urn:xmpp:delay"

// delay is XEP-0203 Delayed Delivery in a message or a presence:
// {"stamp", "from", "text"}. A carbon's delay is written the same way.
var delayField = friendlyField{name: "delay", ns: nsDelay, local: "delay",
	fits: (*toJSON).isDelay, toJSON: (*toJSON).delay, toXML: (*xmlWriter).delay}

// isDelay: <delay xmlns='urn:xmpp:delay' stamp='…' [from='…']>[text]</delay>.
func (c *toJSON) isDelay(idx int32) bool {
	n := &c.t.nodes[idx]
	if string(n.local) != "delay" || !c.onlyText(idx) {
		return false
	}
	stamp := false
	for k := n.a0; k < n.a1; k++ {
		switch {
		case c.attrIs(k, "", "stamp"):
			stamp = true
		case c.attrIs(k, "", "from"):
		default:
			return false
		}
	}
	return stamp
}

func (c *toJSON) delay(dst []byte, idx int32) []byte {
	t := &c.t
	n := &t.nodes[idx]
	var stamp, from int32 = -1, -1
	for k := n.a0; k < n.a1; k++ {
		if string(t.attrs[k].local) == "stamp" {
			stamp = k
		} else {
			from = k
		}
	}
	dst = append(dst, `{"stamp":`...)
	dst = c.value(dst, t.attrs[stamp].raw, true)
	if from >= 0 {
		dst = append(dst, `,"from":`...)
		dst = c.value(dst, t.attrs[from].raw, true)
	}
	if n.first >= 0 {
		dst = append(dst, `,"text":`...)
		dst = c.textValue(dst, idx)
	}
	return append(dst, '}')
}

func (w *xmlWriter) delay(v, _ int32, p *path) *Error {
	p = field(p, "delay")
	if err := w.want(v, p, jObj); err != nil {
		return err
	}
	var stamp, from, text int32 = -1, -1, -1
	err := w.members(v, p, "a delay", func(key string, m int32) bool {
		switch key {
		case "stamp":
			stamp = m
		case "from":
			from = m
		case "text":
			text = m
		default:
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	if stamp < 0 {
		return errAt(CodeMissingField, field(p, "stamp"), "a delay has a stamp")
	}
	if err := w.open(p, "delay", nsDelay); err != nil {
		return err
	}
	for _, a := range [...]struct {
		v   int32
		key string
	}{{stamp, "stamp"}, {from, "from"}} {
		if a.v >= 0 {
			s, err := w.str(a.v, field(p, a.key))
			if err != nil {
				return err
			}
			w.attr(a.key, s)
		}
	}
	mark := w.startEnd()
	if text >= 0 {
		s, err := w.str(text, field(p, "text"))
		if err != nil {
			return err
		}
		w.text(s)
	}
	w.end(mark, "delay")
	return nil
}
