package jsonapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/httphold"
	"github.com/xmppbridge/xmppbridge/internal/longpoll"
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

// request is what the engine keeps of one post.
type request struct {
	p    *post
	poll bool
	// A resend of a poll whose rid was taken: answered with the frames
	// after from.
	resend bool
	from   uint64
	gen    uint32 // the session's generation when the post came
}

func reqOf(r *longpoll.Request) *request { return r.Data.(*request) }

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
// transport (!poll): the first of a session logs in; the others go to the
// session's request engine, which takes them in rid order and holds polls
// until frames are ready.
func (h *Handler) servePost(w http.ResponseWriter, r *http.Request, poll bool) {
	b, e := h.readBody(w, r)
	var p *post
	if e == nil {
		p, e = parsePost(b)
	}
	if e != nil {
		h.refuse(w, r, e, 0)
		return
	}
	if !h.enter(p.SID != "") {
		h.reject(w, r, http.StatusServiceUnavailable, errShutdown, "the bridge is shutting down")
		return
	}
	if p.SID == "" {
		defer h.leave()
		h.create(w, r, p, poll)
		return
	}
	s := h.lookup(p.SID)
	var gen uint32
	if s != nil {
		s.lp.Lock()
		renamed := s.sid != p.SID
		gen = s.gen
		s.lp.Unlock()
		if renamed {
			s = nil // resumed under another sid just now
		}
	}
	if s == nil {
		h.leave()
		h.reject(w, r, http.StatusNotFound, errItemNotFound, "no such session")
		return
	}
	req := &longpoll.Request{RID: *p.RID, Immediate: !poll, Data: &request{p: p, poll: poll, gen: gen}}
	if p.Pause != nil {
		req.Pause = seconds(*p.Pause, s.maxPause)
	}
	held := httphold.Hold(w, r, httphold.Options{
		WriteTimeout: h.cfg.WriteTimeout,
		OnGone:       func() { s.lp.Gone(req) },
		OnDone:       h.leave,
	})
	s.lp.Submit(req, held)
	held.Wait()
}

// The session as the request engine's Content.

// Admit turns away a poll once the close frame has been answered: the
// session is over.
func (s *session) Admit(r *longpoll.Request, _ int) *longpoll.Answer {
	q := reqOf(r)
	if q.gen != s.gen {
		return s.errorAnswer(http.StatusConflict, errConflict, "the session was resumed by another connection")
	}
	s.backLocked()
	if q.poll && s.ended && s.sent >= s.next-1 {
		return s.errorAnswer(http.StatusNotFound, errItemNotFound, "the session has ended")
	}
	return nil
}

// Turn applies the browser's acknowledgement: ack, or for a poll without
// it, the answers a window before.
func (s *session) Turn(r *longpoll.Request) *longpoll.Answer {
	q := reqOf(r)
	if q.p.Ack != nil {
		s.ackLocked(*q.p.Ack)
	} else if q.poll {
		s.implicitAckLocked(r.RID)
	}
	return nil
}

// Take forwards the post's frames upstream.
func (s *session) Take(r *longpoll.Request) {
	q := reqOf(r)
	s.send(q.p.Frames, q.gen) // and tells the server what Turn acknowledged
	q.p.Frames = nil          // sent: a held poll keeps none of them
}

// Taken has nothing to do after a post is held.
func (s *session) Taken(*longpoll.Request) {}

// Resent answers a post whose rid was taken before, without sending its
// frames again: a post of the events transport at once, a poll with every
// frame after what the browser says it has (or after what that poll's
// answer began with), held until there is one.
func (s *session) Resent(r *longpoll.Request) (*longpoll.Answer, bool) {
	q := reqOf(r)
	if !q.poll {
		return &longpoll.Answer{Response: s.sentAnswer(r.RID)}, false
	}
	if s.ended && q.p.Ack != nil && *q.p.Ack >= s.next-1 {
		return s.errorAnswer(http.StatusNotFound, errItemNotFound, "the session has ended"), false
	}
	q.resend = true
	q.from = s.sent
	if q.p.Ack != nil {
		q.from = *q.p.Ack
		s.ackLocked(*q.p.Ack)
	} else if first, ok := s.firstOfLocked(r.RID); ok {
		q.from = first - 1
	}
	return nil, true
}

// from is the number after which frames answer r: what no answer carried,
// for a new poll.
func (s *session) fromLocked(q *request) uint64 {
	if q.resend {
		return q.from
	}
	return s.sent
}

// Ready says whether frames are ready for the oldest poll held.
func (s *session) Ready(r *longpoll.Request) bool {
	s.fillLocked()
	return s.next-1 > s.fromLocked(reqOf(r))
}

// Answer answers the oldest poll held with the frames ready for it, or a
// post of the events transport with its rid.
func (s *session) Answer(r *longpoll.Request) longpoll.Answer {
	q := reqOf(r)
	if !q.poll {
		return longpoll.Answer{Response: s.sentAnswer(r.RID)}
	}
	s.fillLocked()
	first, frames := s.sinceLocked(s.fromLocked(q))
	if n := len(frames); n > 0 {
		s.sent = max(s.sent, frames[n-1].n)
	}
	s.rememberLocked(r.RID, first)
	b := appendFrames([]byte(`{`), first, frames)
	n, h := s.confirmedLocked()
	b = append(appendAcked(append(b, ','), n, h), '}')
	return longpoll.Answer{Response: jsonResponse(http.StatusOK, b)}
}

// sentAnswer is the answer to a post of the events transport.
func (s *session) sentAnswer(rid uint64) httphold.Response {
	b := strconv.AppendUint([]byte(`{"rid":`), rid, 10)
	n, h := s.confirmedLocked()
	b = appendAcked(append(b, ','), n, h)
	return jsonResponse(http.StatusOK, append(b, '}'))
}

// Refused answers a post the engine turns away. Its rid is not taken: the
// page may send it again (docs/json-api.md).
func (s *session) Refused(r *longpoll.Request, why longpoll.Why) longpoll.Answer {
	switch why {
	case longpoll.WhyWindow:
		return *s.errorAnswer(http.StatusBadRequest, errBadRequest, "rid outside the window")
	case longpoll.WhyTurn:
		return *s.errorAnswer(http.StatusBadRequest, errOutOfOrder, "the requests before this rid did not arrive in time")
	case longpoll.WhySuperseded:
		// The page sent the rid again: the newer copy is taken instead.
		if reqOf(r).poll {
			return longpoll.Answer{Response: jsonResponse(http.StatusOK, []byte(`{"frames":[]}`))}
		}
		return longpoll.Answer{Response: s.sentAnswer(r.RID)}
	}
	return *s.errorAnswer(http.StatusNotFound, errItemNotFound, "no such session")
}

func (s *session) errorAnswer(status int, code, text string) *longpoll.Answer {
	return &longpoll.Answer{Response: jsonResponse(status, errorFrame(nil, code, "", text))}
}

// Idle is told that nobody has polled or posted for too long: the page went
// away, and the session waits for a resume (or, with none offered, ends).
// A session a WebSocket serves is not idle.
func (s *session) Idle() {
	s.lp.Lock()
	if s.gone || s.wsc != nil || s.detachLocked() {
		s.lp.Unlock()
		return
	}
	s.gone = true
	s.lp.Unlock()
	s.h.forget(s)
	if s.bs != nil {
		s.bs.End(&bridge.CloseError{Reason: bridge.ReasonConnectionTimeout})
	}
}

// Ended lets the handler forget a session whose engine ended (shutdown).
func (s *session) Ended() { s.h.forget(s) }

// jsonResponse is an answer with the API's headers.
func jsonResponse(status int, b []byte) httphold.Response {
	return httphold.Response{Status: status, Header: jsonHeader(), Body: b}
}

func jsonHeader() http.Header {
	return http.Header{
		"Content-Type":           {"application/json"},
		"Cache-Control":          {"no-store"},
		"X-Content-Type-Options": {"nosniff"},
	}
}

// create logs a new session in and answers with its first frames.
func (h *Handler) create(w http.ResponseWriter, r *http.Request, p *post, poll bool) {
	if len(p.Frames) == 0 {
		h.reject(w, r, http.StatusBadRequest, errMissingField, "frames: the first request carries a login")
		return
	}
	f, e := parseLogin(p.Frames[0])
	if e != nil {
		h.refuse(w, r, e, 0)
		return
	}
	var s *session
	var resumed []byte
	if f.Kind == "resume" {
		s, resumed, e = h.resumeHTTP(f)
	} else {
		s, e = h.login(r.Context(), h.passwordAllowed(r), f, h.newSession(newSID()))
	}
	if e != nil {
		h.refuse(w, r, e, 0)
		return
	}
	params := longpoll.Params{Wait: h.cfg.Wait, Hold: h.cfg.Hold, Inactivity: h.cfg.Inactivity}
	if p.Hold != nil {
		params.Hold = min(*p.Hold, params.Hold)
	}
	params.Requests = params.Hold + 1
	if !poll {
		params.Requests = sendWindow
	}
	if p.Wait != nil {
		params.Wait = seconds(*p.Wait, params.Wait)
	}
	if resumed != nil {
		s.lp.Restart(params, *p.RID, jsonResponse(http.StatusConflict,
			errorFrame(nil, errConflict, "", "the session was resumed by another connection")))
	} else {
		s.lp.Configure(params, *p.RID)
	}
	s.maxPause = h.cfg.MaxPause
	if !h.register(s) {
		s.bs.End(&bridge.CloseError{Reason: bridge.ReasonShutdown})
		h.reject(w, r, http.StatusServiceUnavailable, errShutdown, "the bridge is shutting down")
		return
	}
	s.lp.Lock()
	gen := s.gen
	s.lp.Unlock()
	s.send(p.Frames[1:], gen)

	s.lp.Lock()
	s.fillLocked()
	first, frames := s.sinceLocked(s.sent)
	if n := len(frames); n > 0 {
		s.sent = frames[n-1].n
	}
	s.rememberLocked(*p.RID, first)
	b := append(jsonxlate.AppendString([]byte(`{"sid":`), s.sid), ',')
	if resumed != nil {
		b = append(append(append(b, `"resumed":`...), resumed...), ',')
	}
	if poll {
		b = appendSeconds(b, "wait", params.Wait)
		b = strconv.AppendInt(append(b, `"hold":`...), int64(params.Hold), 10)
		b = strconv.AppendInt(append(b, `,"requests":`...), int64(params.Requests), 10)
		b = append(b, ',')
		b = appendSeconds(b, "inactivity", h.cfg.Inactivity)
		b = appendSeconds(b, "maxpause", h.cfg.MaxPause)
	} else {
		b = strconv.AppendUint(append(b, `"rid":`...), *p.RID, 10)
		b = append(b, ',')
	}
	b = appendFrames(b, first, frames)
	n, hc := s.confirmedLocked()
	b = appendAcked(append(b, ','), n, hc)
	if !poll && len(frames) > 0 {
		// An events stream starts after what this answer carries (the
		// frames are in b now: ackLocked reuses the log's array).
		s.ackLocked(frames[len(frames)-1].n)
	}
	s.lp.Unlock()
	s.flushHandled()
	s.lp.Touch()
	httphold.Reply(w, r, jsonResponse(http.StatusOK, append(b, '}')), h.cfg.WriteTimeout)
}

// resumeHTTP continues a session over the HTTP transports: under a new
// sid, the connection that served it let go. It returns the resumed frame
// for the answer.
func (h *Handler) resumeHTTP(f *loginFrame) (*session, []byte, *apiError) {
	s, received, e := h.resume(f)
	h.stats.resumed(e)
	if e != nil {
		return nil, nil, e
	}
	sid := newSID()
	s.lp.Lock()
	after := s.takeOverLocked()
	h.rename(s, sid)
	s.sid = sid
	n, hc := s.confirmedLocked()
	resumed := resumedFrame(nil, s.jid, sid, f.ID, h.tokenLocked(s), s.sent+1, received, n, hc, h.cfg.ResumeWindow)
	s.lp.Unlock()
	after()
	s.flushHandled()
	return s, resumed, nil
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
