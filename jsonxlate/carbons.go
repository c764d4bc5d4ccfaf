package jsonxlate

const (
	nsCarbons = "urn:xmpp:carbons:2"
	nsForward = "urn:xmpp:forward:0"
)

// carbon is XEP-0280 Message Carbons in a message: {"direction",
// "message", "delay"}, the carbon copy's message converted as any message
// is.
var carbonField = friendlyField{name: "carbon", ns: nsCarbons,
	fits: (*toJSON).isCarbon, toJSON: (*toJSON).carbon, toXML: (*xmlWriter).carbon}

// isCarbon: <received|sent xmlns='urn:xmpp:carbons:2'><forwarded
// xmlns='urn:xmpp:forward:0'>[<delay/>]<message xmlns='jabber:client'/>
// </forwarded></…>, with nothing else but white space between them.
func (c *toJSON) isCarbon(idx int32) bool {
	t := &c.t
	n := &t.nodes[idx]
	if string(n.local) != "received" && string(n.local) != "sent" || n.a0 != n.a1 {
		return false
	}
	fwk, ok := c.onlyElements(idx, 1)
	if !ok || fwk.n != 1 {
		return false
	}
	fw := fwk.k[0]
	f := &t.nodes[fw]
	if string(f.ns) != nsForward || string(f.local) != "forwarded" || f.a0 != f.a1 {
		return false
	}
	k, ok := c.onlyElements(fw, 2)
	kids := k.list()
	if !ok || len(kids) == 0 {
		return false
	}
	msg := kids[len(kids)-1]
	if m := &t.nodes[msg]; string(m.ns) != nsClient || string(m.local) != "message" {
		return false
	}
	if len(kids) == 2 {
		d := &t.nodes[kids[0]]
		return string(d.ns) == nsDelay && c.isDelay(kids[0])
	}
	return true
}

func (c *toJSON) carbon(dst []byte, idx int32) []byte {
	t := &c.t
	n := &t.nodes[idx]
	fw, _ := c.onlyElements(idx, 1)
	k, _ := c.onlyElements(fw.k[0], 2)
	kids := k.list()
	dst = append(dst, `{"direction":`...)
	dst = appendJSONString(dst, n.local)
	dst = append(dst, `,"message":`...)
	dst = c.stanza(dst, kids[len(kids)-1], &message)
	if len(kids) == 2 {
		dst = append(dst, `,"delay":`...)
		dst = c.delay(dst, kids[0])
	}
	return append(dst, '}')
}

func (w *xmlWriter) carbon(v, _ int32, p *path) *Error {
	p = field(p, "carbon")
	if err := w.want(v, p, jObj); err != nil {
		return err
	}
	var dir, msg, delay int32 = -1, -1, -1
	err := w.members(v, p, "a carbon", func(key string, m int32) bool {
		switch key {
		case "direction":
			dir = m
		case "message":
			msg = m
		case "delay":
			delay = m
		default:
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	if dir < 0 {
		return errAt(CodeMissingField, field(p, "direction"), "a carbon has a direction")
	}
	if msg < 0 {
		return errAt(CodeMissingField, field(p, "message"), "a carbon has a message")
	}
	d, err := w.str(dir, field(p, "direction"))
	if err != nil {
		return err
	}
	if d != "received" && d != "sent" {
		return errAt(CodeBadValue, field(p, "direction"), "must be received or sent")
	}
	if err := w.want(msg, field(p, "message"), jObj); err != nil {
		return err
	}
	if err := w.open(p, d, nsCarbons); err != nil {
		return err
	}
	outer := w.startEnd()
	if err := w.open(p, "forwarded", nsForward); err != nil {
		return err
	}
	inner := w.startEnd()
	if delay >= 0 {
		if err := w.delay(delay, -1, p); err != nil {
			return err
		}
	}
	if err := w.stanza(msg, &message, field(p, "message")); err != nil {
		return err
	}
	w.end(inner, "forwarded")
	w.end(outer, d)
	return nil
}
