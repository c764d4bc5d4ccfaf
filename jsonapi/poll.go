package jsonapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/jsonxlate"
)

// post is the body of POST {base}/poll and {base}/send.
type post struct {
	SID    string            `json:"sid"`
	RID    *uint64           `json:"rid"`
	Ack    *uint64           `json:"ack"`
	Wait   *int              `json:"wait"`
	Hold   *int              `json:"hold"`
	Pause  *int              `json:"pause"`
	Frames []json.RawMessage `json:"frames"`
}

// sendWindow is how many posts of the events transport may be in flight.
const sendWindow = 8

// maxRID keeps rids exact in JavaScript numbers.
const maxRID = 1<<53 - 1

func parsePost(b []byte) (*post, *apiError) {
	var p post
	if err := json.Unmarshal(b, &p); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, &apiError{code: errBadValue, text: te.Field + ": wrong type"}
		}
		return nil, &apiError{code: errBadJSON, text: "not a JSON object: " + err.Error()}
	}
	switch {
	case p.RID == nil:
		return nil, &apiError{code: errMissingField, text: "rid"}
	case *p.RID == 0 || *p.RID > maxRID:
		return nil, &apiError{code: errBadValue, text: "rid: must be between 1 and 2^53-1"}
	case p.Wait != nil && *p.Wait < 0, p.Hold != nil && *p.Hold < 0, p.Pause != nil && *p.Pause < 0:
		return nil, &apiError{code: errBadValue, text: "wait, hold and pause are not negative"}
	}
	return &p, nil
}

// servePost serves one long-poll request (poll) or one post of the events
// transport (!poll): the first of a session logs in.
func (h *Handler) servePost(w http.ResponseWriter, r *http.Request, poll bool) {
	b, e := h.readBody(r)
	var p *post
	if e == nil {
		p, e = parsePost(b)
	}
	if e != nil {
		h.reject(w, r, httpStatus(e.code), e.code, e.text)
		return
	}
	if !h.enter(p.SID != "") {
		h.reject(w, r, http.StatusServiceUnavailable, errShutdown, "the bridge is shutting down")
		return
	}
	defer h.leave()
	if p.SID == "" {
		h.create(w, r, p, poll)
		return
	}
	s := h.lookup(p.SID)
	if s == nil {
		h.reject(w, r, http.StatusNotFound, errItemNotFound, "no such session")
		return
	}
	rid := *p.RID

	s.mu.Lock()
	repeat, err := s.admitLocked(rid, s.window, r.Context().Done())
	if err != nil {
		s.mu.Unlock()
		code := errBadRequest
		if err == errRIDTurn {
			code = errOutOfOrder
		}
		h.reject(w, r, http.StatusBadRequest, code, err.Error())
		return
	}
	if poll && s.ended && (repeat && p.Ack != nil && *p.Ack >= s.next-1 || !repeat && s.sent >= s.next-1) {
		// The close frame has been answered: the session is over.
		s.mu.Unlock()
		if !repeat {
			s.mu.Lock()
			s.doneLocked(rid)
			s.mu.Unlock()
		}
		h.reject(w, r, http.StatusNotFound, errItemNotFound, "the session has ended")
		return
	}
	if p.Ack != nil {
		s.ackLocked(*p.Ack)
	} else if poll && !repeat {
		s.implicitAckLocked(rid)
	}
	s.pauseTo = 0 // a pause lasts until the next request (XEP-0124 §10)
	if p.Pause != nil {
		s.pauseTo = seconds(*p.Pause, h.cfg.MaxPause)
	}
	s.attachLocked()
	s.mu.Unlock()
	if !repeat {
		s.send(p.Frames)
		s.mu.Lock()
		s.doneLocked(rid)
		s.mu.Unlock()
	}
	if !poll {
		s.mu.Lock()
		s.detachLocked()
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, append(strconv.AppendUint([]byte(`{"rid":`), rid, 10), '}'))
		return
	}
	h.hold(w, r, s, p, repeat)
}

// hold answers a poll when frames are ready, or empty when wait runs out,
// or at once when a newer poll leaves it above hold.
func (h *Handler) hold(w http.ResponseWriter, r *http.Request, s *session, p *post, repeat bool) {
	rid := *p.RID
	s.mu.Lock()
	from := s.sent
	if repeat {
		// A resend: its answer may have been lost, so everything after what
		// the client says it has (or after what that answer began with).
		if p.Ack != nil {
			from = *p.Ack
		} else if first, ok := s.firstOfLocked(rid); ok {
			from = first - 1
		}
	}
	answerNow := make(chan struct{})
	s.held = append(s.held, answerNow)
	for len(s.held) > s.hold {
		close(s.held[0])
		s.held = s.held[1:]
	}
	wait := s.wait
	if p.Pause != nil {
		wait = 0 // a pause is answered at once (XEP-0124 §10)
	}
	t := time.NewTimer(wait)
	s.waitForLocked(from, answerNow, r.Context().Done(), t.C)
	t.Stop()
	if !repeat {
		// Another poll may have answered while this one waited: send only
		// what no answer has carried.
		from = max(from, s.sent)
	}
	for i, c := range s.held {
		if c == answerNow {
			s.held = append(s.held[:i], s.held[i+1:]...)
			break
		}
	}
	first, frames := s.sinceLocked(from)
	resp := appendFrames([]byte(`{`), first, frames)
	if n := len(frames); n > 0 {
		s.sent = max(s.sent, frames[n-1].n)
	}
	s.rememberLocked(rid, first, s.window)
	s.detachLocked()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, append(resp, '}'))
}

// create logs a new session in and answers with its first frames.
func (h *Handler) create(w http.ResponseWriter, r *http.Request, p *post, poll bool) {
	if len(p.Frames) == 0 {
		h.reject(w, r, http.StatusBadRequest, errMissingField, "frames: the first request carries a login")
		return
	}
	f, e := parseLogin(p.Frames[0])
	if e != nil {
		h.reject(w, r, httpStatus(e.code), e.code, e.text)
		return
	}
	s, e := h.login(r.Context(), r, f, h.newSession(newSID()))
	if e != nil {
		h.reject(w, r, httpStatus(e.code), e.code, e.text)
		return
	}
	s.mu.Lock()
	s.rid = *p.RID
	s.hold = h.cfg.Hold
	if p.Hold != nil {
		s.hold = min(*p.Hold, s.hold)
	}
	s.window = s.hold + 1
	if !poll {
		s.window = sendWindow
	}
	s.wait = h.cfg.Wait
	if p.Wait != nil {
		s.wait = seconds(*p.Wait, s.wait)
	}
	s.mu.Unlock()
	if !h.register(s) {
		s.bs.End(&bridge.CloseError{Reason: bridge.ReasonShutdown})
		h.reject(w, r, http.StatusServiceUnavailable, errShutdown, "the bridge is shutting down")
		return
	}
	s.send(p.Frames[1:])

	s.mu.Lock()
	s.fillLocked()
	first, frames := s.sinceLocked(0)
	if n := len(frames); n > 0 {
		s.sent = frames[n-1].n
	}
	s.rememberLocked(s.rid, first, s.window)
	b := append(jsonxlate.AppendString([]byte(`{"sid":`), s.sid), ',')
	if poll {
		b = appendSeconds(b, "wait", s.wait)
		b = strconv.AppendInt(append(b, `"hold":`...), int64(s.hold), 10)
		b = strconv.AppendInt(append(b, `,"requests":`...), int64(s.window), 10)
		b = append(b, ',')
		b = appendSeconds(b, "inactivity", h.cfg.Inactivity)
		b = appendSeconds(b, "maxpause", h.cfg.MaxPause)
	} else {
		b = strconv.AppendUint(append(b, `"rid":`...), s.rid, 10)
		b = append(b, ',')
	}
	b = appendFrames(b, first, frames)
	if !poll && len(frames) > 0 {
		// An events stream starts after what this answer carries (the
		// frames are in b now: ackLocked reuses the log's array).
		s.ackLocked(frames[len(frames)-1].n)
	}
	s.armLocked()
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, append(b, '}'))
}

// seconds is n seconds, at most most (n is not negative).
func seconds(n int, most time.Duration) time.Duration {
	if int64(n) >= int64(most/time.Second) {
		return most
	}
	return time.Duration(n) * time.Second
}

// appendSeconds appends "name":seconds, (with the comma).
func appendSeconds(b []byte, name string, d time.Duration) []byte {
	b = append(b, '"')
	b = append(b, name...)
	b = append(b, `":`...)
	b = strconv.AppendInt(b, int64(d/time.Second), 10)
	return append(b, ',')
}

// appendFrames appends "first":n,"frames":[...] ("frames":[] alone when
// there are none).
func appendFrames(b []byte, first uint64, frames []frame) []byte {
	if len(frames) > 0 {
		b = strconv.AppendUint(append(b, `"first":`...), first, 10)
		b = append(b, ',')
	}
	b = append(b, `"frames":[`...)
	for i, f := range frames {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, f.data...)
	}
	return append(b, ']')
}
