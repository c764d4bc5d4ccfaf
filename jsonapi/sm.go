package jsonapi

import (
	"context"
	"strings"
	"time"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// Acknowledged end to end. The bridge logs JSON sessions in with XEP-0198
// stream management that it does itself (bridge.OpenRequest
// .StreamManagement), so that a session survives the death of its bridge
// process:
//
//   - Down, every stanza frame carries the server's number of its stanza
//     (frame.seq); when the page acknowledges frames, the server is told
//     the highest number among them (Session.Handled) and nothing more, so
//     it keeps the rest for a resume.
//   - Up, the page's stanzas are numbered as the server counts them
//     (outSent) and stay pending until the server acknowledges them
//     (EventAcked). The page learns which of its frames are confirmed —
//     down ack frames and the "acked" of HTTP answers say n (every page
//     frame up to n) and h (the page's stanzas among them) — and keeps the
//     others until then.
//   - Another process resumes the upstream stream with what the token
//     carries (adopt) and what the resume frame says: h, the server's
//     stanzas the page has (it counts frames of kind message, presence and
//     iq, and error frames with "stanza":true), and acked, the last
//     confirmation it got. The server says how many of the page's stanzas
//     it has; the page sends again everything after acked.n, and the first
//     of those stanzas that the server already has are not sent again
//     (skip).

// pageOut is one of the page's stanzas sent upstream and not yet
// acknowledged by the server: the page's frame number and the server's
// number for it.
type pageOut struct {
	frame, seq uint64
}

// confirmedLocked is what the page may forget of what it sent: every frame
// up to n, which held h stanzas for the server.
func (s *session) confirmedLocked() (n, h uint64) {
	if len(s.pending) > 0 {
		return s.pending[0].frame - 1, s.pending[0].seq - 1
	}
	// Not received: the frame being dealt with may be a stanza on its
	// way upstream.
	return s.settled, s.outSent
}

// confirmLocked takes in the server's acknowledgement of the page's
// stanzas up to number a, and tells a WebSocket page.
func (s *session) confirmLocked(a uint64) {
	s.serverAcked = max(s.serverAcked, a)
	i := 0
	for i < len(s.pending) && s.pending[i].seq <= a {
		i++
	}
	if i == 0 {
		return
	}
	n := copy(s.pending, s.pending[i:])
	s.pending = s.pending[:n]
	s.tellConfirmedLocked()
}

// tellConfirmedLocked sends a WebSocket page a down ack frame if what is
// confirmed moved since it was last told.
func (s *session) tellConfirmedLocked() {
	n, h := s.confirmedLocked()
	if s.wsc != nil && n != s.told {
		s.told = n
		s.wsc.control(ackFrame(nil, n, h))
	}
}

// sentLocked notes that the page's frame number frame went upstream as a
// stanza (or was found to be there already, after a resume elsewhere).
func (s *session) sentLocked(frame uint64) {
	s.outSent++
	if s.bs == nil || !s.smOn {
		return
	}
	if s.outSent <= s.serverAcked {
		// The server's acknowledgement came before this note of the
		// send: the page learns at once.
		s.tellConfirmedLocked()
		return
	}
	s.pending = append(s.pending, pageOut{frame: frame, seq: s.outSent})
}

// flushHandled tells the server what the page has handled, if that moved.
// It writes upstream: call it without the session's lock.
func (s *session) flushHandled() {
	s.lp.Lock()
	h, bs := s.handled, s.bs
	moved := h > s.handledTold && s.smOn
	s.handledTold = max(s.handledTold, h)
	s.lp.Unlock()
	if moved && bs != nil {
		bs.Handled(h)
	}
}

// isStanza reports whether b, translated from a page's frame, is a stanza
// the server counts.
func isStanza(b []byte) bool {
	return len(b) > 3 && b[0] == '<' && (hasName(b, "message") || hasName(b, "presence") || hasName(b, "iq"))
}

func hasName(b []byte, name string) bool {
	if len(b) <= len(name)+1 || string(b[1:1+len(name)]) != name {
		return false
	}
	switch b[1+len(name)] {
	case ' ', '>', '/', '\t', '\n', '\r':
		return true
	}
	return false
}

// adopt continues, in this process, a session that another process held:
// it resumes the upstream stream the token names with the page's count of
// the server's stanzas, and numbers frames after the page's last.
func (h *Handler) adopt(t resumeToken, f *loginFrame) (*session, *apiError) {
	if t.smID == "" || t.secret == nil || f.H == nil {
		return nil, &apiError{code: errItemNotFound, id: f.ID, text: "no such session here: log in again"}
	}
	h.mu.Lock()
	if h.adopting[t.key] {
		h.mu.Unlock()
		return nil, &apiError{code: errConflict, id: f.ID, text: "another connection is resuming this session"}
	}
	h.adopting[t.key] = true
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.adopting, t.key)
		h.mu.Unlock()
	}()

	local, _, _ := strings.Cut(t.jid, "@")
	_, resource, _ := strings.Cut(t.jid, "/")
	last := *f.Last
	s := h.newSession("")
	s.key, s.gen, s.domain, s.jid = t.key, t.gen, t.domain, t.jid
	s.next, s.sent, s.acked = last+1, last, last
	ctx, cancel := context.WithTimeout(h.ctx, adoptTimeout)
	defer cancel()
	bs, err := h.cfg.Hub.Open(ctx, bridge.OpenRequest{
		To:               t.domain,
		Login:            &xmppclient.Credentials{Username: local, Resource: resource, Secret: t.secret},
		StreamManagement: true,
		Resume:           &xmppclient.Resumption{ID: t.smID, JID: t.jid, In: *f.H},
	}, s)
	if err != nil {
		return nil, &apiError{code: errItemNotFound, id: f.ID, text: "the server no longer has the session: log in again"}
	}
	var ackN, ackH uint64
	if f.Acked != nil {
		ackN, ackH = f.Acked.N, f.Acked.H
	}
	server := bs.SM().Acked // the page's stanzas the server has
	s.lp.Lock()
	s.smOn = true
	s.received, s.settled, s.outSent = ackN, ackN, server
	if server > ackH {
		s.skip = server - ackH
	}
	s.lp.Unlock()
	return s, nil
}

// adoptTimeout bounds resuming another process's session upstream.
const adoptTimeout = 20 * time.Second
