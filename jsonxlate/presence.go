package jsonxlate

import (
	"math"
	"strconv"
)

// presence is <presence/> (RFC 6121 §4) with its friendly fields in their
// fixed order.
var presence = stanzaKind{name: "presence", what: "a presence", fields: []friendlyField{
	showField,
	statusField,
	statusesField,
	priorityField,
	delayField,
	errorField,
}}

// show is <show>away</show>, with one of the four values and no
// attributes.
var showField = friendlyField{name: "show", ns: nsClient, local: "show",
	fits: (*toJSON).isShow, toJSON: (*toJSON).textValue, toXML: (*xmlWriter).show}

func (c *toJSON) isShow(idx int32) bool {
	return c.plainText(idx) && validShow(c.text(idx))
}

func validShow(s []byte) bool {
	switch string(s) {
	case "away", "chat", "dnd", "xa":
		return true
	}
	return false
}

func (w *xmlWriter) show(v, _ int32, p *path) *Error {
	s, err := w.str(v, field(p, "show"))
	if err != nil {
		return err
	}
	if !validShow([]byte(s)) {
		return errAt(CodeBadValue, field(p, "show"), "must be away, chat, dnd or xa")
	}
	return w.leaf(p, "show", "", "", false, s)
}

// status is <status>text</status> without attributes; statuses lists
// those with xml:lang (langtext.go).
var statusField = friendlyField{name: "status", ns: nsClient, local: "status",
	fits: (*toJSON).plainText, toJSON: (*toJSON).textValue, toXML: (*xmlWriter).status}

var statusesField = friendlyField{name: "statuses", ns: nsClient, local: "status", list: true, fits: (*toJSON).langText}

func (w *xmlWriter) status(v, _ int32, p *path) *Error { return w.textChild(v, p, "status") }

// priority is <priority>-1</priority> without attributes, as a JSON
// number: only for text that the number gives back.
var priorityField = friendlyField{name: "priority", ns: nsClient, local: "priority",
	fits: (*toJSON).isPriority, toJSON: (*toJSON).priority, toXML: (*xmlWriter).priority}

func (c *toJSON) isPriority(idx int32) bool {
	return c.plainText(idx) && validPriority(c.text(idx))
}

// validPriority reports whether s is an integer from -128 to 127 written the
// way a JSON number is, so that the number gives back the same text.
func validPriority(s []byte) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
		if len(s) == 1 && s[0] == '0' {
			return false
		}
		if len(s) == 3 && string(s) > "128" {
			return false
		}
	} else if len(s) == 3 && string(s) > "127" {
		return false
	}
	if len(s) == 0 || len(s) > 3 || len(s) > 1 && s[0] == '0' {
		return false
	}
	for _, d := range s {
		if d < '0' || d > '9' {
			return false
		}
	}
	return true
}

func (c *toJSON) priority(dst []byte, idx int32) []byte {
	return append(dst, c.text(idx)...)
}

func (w *xmlWriter) priority(v, _ int32, p *path) *Error {
	p = field(p, "priority")
	if err := w.want(v, p, jNum); err != nil {
		return err
	}
	f, err := strconv.ParseFloat(w.n[v].str, 64)
	if err != nil || f != math.Trunc(f) || f < -128 || f > 127 {
		return errAt(CodeBadValue, p, "must be an integer from -128 to 127")
	}
	return w.leaf(p, "priority", "", "", false, strconv.Itoa(int(f)))
}
