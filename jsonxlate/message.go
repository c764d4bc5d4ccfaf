package jsonxlate

// message is <message/> (RFC 6121 §5) with its friendly fields in their
// fixed order. It is filled in by init rather than where it is declared:
// its carbon field converts a message, so the table is used by one of its
// own entries, which a declaration may not do.
var message stanzaKind

func init() {
	message = stanzaKind{name: "message", what: "a message", fields: []friendlyField{
		subjectField,
		subjectsField,
		bodyField,
		bodiesField,
		threadField,
		chatStateField,
		receiptRequestField,
		receivedField,
		delayField,
		carbonField,
		errorField,
	}}
}

// subject and body are <subject>text</subject> and <body>text</body>
// without attributes; subjects and bodies list those with xml:lang
// (langtext.go).
var subjectField = friendlyField{name: "subject", ns: nsClient, local: "subject",
	fits: (*toJSON).plainText, toJSON: (*toJSON).textValue, toXML: (*xmlWriter).subject}

var subjectsField = friendlyField{name: "subjects", ns: nsClient, local: "subject", list: true, fits: (*toJSON).langText}

var bodyField = friendlyField{name: "body", ns: nsClient, local: "body",
	fits: (*toJSON).plainText, toJSON: (*toJSON).textValue, toXML: (*xmlWriter).body}

var bodiesField = friendlyField{name: "bodies", ns: nsClient, local: "body", list: true, fits: (*toJSON).langText}

func (w *xmlWriter) subject(v, _ int32, p *path) *Error { return w.textChild(v, p, "subject") }
func (w *xmlWriter) body(v, _ int32, p *path) *Error    { return w.textChild(v, p, "body") }

// thread is <thread [parent='…']>text</thread>, with the parent attribute
// in thread_parent.
var threadField = friendlyField{name: "thread", with: "thread_parent", ns: nsClient, local: "thread",
	fits: (*toJSON).isThread, toJSON: (*toJSON).thread, toXML: (*xmlWriter).thread}

func (c *toJSON) isThread(idx int32) bool {
	return c.onlyText(idx) && c.attrsAmong(idx, "parent", "", "")
}

func (c *toJSON) thread(dst []byte, idx int32) []byte {
	n := &c.t.nodes[idx]
	dst = c.textValue(dst, idx)
	if n.a1 > n.a0 {
		dst = append(dst, `,"thread_parent":`...)
		dst = c.value(dst, c.t.attrs[n.a0].raw, true)
	}
	return dst
}

func (w *xmlWriter) thread(thread, parent int32, p *path) *Error {
	s, err := w.str(thread, field(p, "thread"))
	if err != nil {
		return err
	}
	if err := w.open(p, "thread", ""); err != nil {
		return err
	}
	if parent >= 0 {
		ps, err := w.str(parent, field(p, "thread_parent"))
		if err != nil {
			return err
		}
		w.attr("parent", ps)
	}
	mark := w.startEnd()
	w.text(s)
	w.end(mark, "thread")
	return nil
}
