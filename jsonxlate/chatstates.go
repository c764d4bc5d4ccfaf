package jsonxlate

const nsChatStates = "http://jabber.org/protocol/chatstates"

// chat_state is XEP-0085 Chat State Notifications in a message: the
// state's name.
var chatStateField = friendlyField{name: "chat_state", ns: nsChatStates,
	fits: (*toJSON).isChatState, toJSON: (*toJSON).chatState, toXML: (*xmlWriter).chatState}

// isChatState: <active|composing|paused|inactive|gone
// xmlns='http://jabber.org/protocol/chatstates'/>, with nothing inside.
func (c *toJSON) isChatState(idx int32) bool {
	n := &c.t.nodes[idx]
	return validChatState(n.local) && n.first < 0 && n.a0 == n.a1
}

func validChatState(local []byte) bool {
	switch string(local) {
	case "active", "composing", "paused", "inactive", "gone":
		return true
	}
	return false
}

func (c *toJSON) chatState(dst []byte, idx int32) []byte {
	return appendJSONString(dst, c.t.nodes[idx].local)
}

func (w *xmlWriter) chatState(v, _ int32, p *path) *Error {
	s, err := w.str(v, field(p, "chat_state"))
	if err != nil {
		return err
	}
	if !validChatState([]byte(s)) {
		return errAt(CodeBadValue, field(p, "chat_state"), "must be active, composing, paused, inactive or gone")
	}
	w.empty(p, s, nsChatStates)
	return nil
}
