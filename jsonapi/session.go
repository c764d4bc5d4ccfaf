package jsonapi

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/longpoll"
	"github.com/xmppbridge/xmppbridge/internal/wsconn"
	"github.com/xmppbridge/xmppbridge/jsonxlate"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// frame is one numbered frame for the browser.
type frame struct {
	n    uint64
	seq  uint64 // the server's number of the stanza it carries (sm.go); 0 if none
	data []byte
}

// session is one JSON API session: its bridge session, the numbered frames
// for the browser, and, on the HTTP transports, the request engine that
// orders what the browser sends and holds its polls (package longpoll; the
// session is its Content).
//
// Frames are built from the bridge session's queue only when a consumer (a
// WebSocket writer, an events stream, a held poll) looks, so a session nobody
// reads from (a detached one: its page went away, and it waits for a
// resume) holds its backlog in the bridge's bounded queue. Frames stay in
// log until the browser acknowledges them, on every transport: a dropped
// answer or stream is sent again, and a resume sends what the page missed.
//
// The engine's lock (lp.Lock) is the session's lock on every transport: it
// guards everything below lp.
type session struct {
	h   *Handler
	sid string // HTTP transports; "" on a WebSocket
	bs  *bridge.Session
	jid string
	lp  *longpoll.Session

	ws      *wsconn.Conn // the WebSocket the session is served on, if any
	log     []frame      // frames not yet acknowledged, in order
	bytes   int          // the size of log
	next    uint64       // number of the next frame
	sent    uint64       // highest number put in an answer or event
	closing *closeInfo   // a stream error seen, for the close frame
	ended   bool         // the close frame is in log
	end     *bridge.CloseError
	gone    bool   // forgotten: no consumer may attach again
	acked   uint64 // highest number the browser acknowledged

	filling bool // fillLocked runs
	dirty   bool // frames were added meanwhile

	// Resumption (docs/json-api.md, "Resuming a session").
	key       [16]byte    // names the session in its resume tokens
	gen       uint32      // the generation of the token now valid
	domain    string      // the JID's domain, which tokens carry
	resumedAt time.Time   // the latest resume, to tell a race from a stale token
	wsc       *wsConn     // the WebSocket serving the session, if any
	detached  bool        // its page went away: it waits for a resume
	expiry    *time.Timer // the end of the resume window, while detached
	told      uint64      // the confirmed count the page was last told (WebSocket)

	// sendMu orders what the page sends, and a resume after it: a resume
	// waits for the frames being sent and then tells the page how many
	// it has taken. It is taken before the session's lock.
	sendMu   sync.Mutex
	received uint64 // frames taken from the page, acks aside

	// Stream management upstream, done by the bridge (sm.go).
	smOn        bool      // the server does it for this session
	handled     uint64    // the highest stanza number among frames acknowledged
	handledTold uint64    // what the server was told of it
	outSent     uint64    // the page's stanzas sent, as the server counts them
	pending     []pageOut // those the server has not acknowledged
	serverAcked uint64    // the most the server acknowledged of them
	settled     uint64    // the page's frames dealt with: taken, and sent if stanzas
	skip        uint64    // after a resume elsewhere: stanzas the server has

	// HTTP transports.
	answered []ridFirst    // recent rids and the first frame of their answer
	maxPause time.Duration // the longest pause a poll may ask for
	events   *eventStream  // the events stream attached, if any
}

type ridFirst struct {
	rid   uint64
	first uint64
}

type closeInfo struct {
	code, text string
}

// Attach implements bridge.Transport: the session's bridge session, before
// it says anything.
func (s *session) Attach(bs *bridge.Session) {
	s.lp.Lock()
	s.bs = bs
	s.lp.Unlock()
}

// Wake implements bridge.Transport: whoever consumes the session looks
// again — the WebSocket's writer, the events stream, a held poll.
func (s *session) Wake() {
	s.lp.Lock()
	s.signalLocked()
	s.lp.Unlock()
}

// signalLocked tells every consumer that frames may be ready. A detached
// session has none: it takes what came into its log at once, so that a
// backlog past the queue bound ends it now rather than at the resume.
func (s *session) signalLocked() {
	if s.detached {
		s.fillLocked()
		return
	}
	if s.ws != nil {
		s.ws.Wake()
	}
	if s.events != nil {
		s.pushLocked()
	}
	s.lp.PokeLocked()
}

// appendLocked numbers b and adds it to the log. Consumers hear of it at
// once, or, while the log is being filled from the bridge session's queue,
// once that is done: a consumer that looked in the middle would fill out
// of order.
func (s *session) appendLocked(b []byte) { s.appendSeqLocked(b, 0) }

// appendSeqLocked is appendLocked for a frame that carries the stanza the
// server numbered seq.
func (s *session) appendSeqLocked(b []byte, seq uint64) {
	s.log = append(s.log, frame{n: s.next, seq: seq, data: b})
	s.bytes += len(b)
	s.next++
	if s.filling {
		s.dirty = true
		return
	}
	s.signalLocked()
}

// fillLocked turns what the bridge session has queued into frames. A
// frame that would take the log past the queue bound ends the session as a
// slow consumer.
func (s *session) fillLocked() {
	if s.bs == nil || s.ended || s.filling {
		return
	}
	s.filling = true
	for !s.ended {
		items := s.bs.Pull()
		if len(items) == 0 {
			break
		}
		for i := range items {
			s.itemLocked(&items[i])
		}
		s.bs.Release(items)
	}
	s.filling = false
	if s.dirty {
		s.dirty = false
		s.signalLocked()
	}
}

func (s *session) itemLocked(it *bridge.Item) {
	if s.ended {
		return
	}
	if it.End != nil {
		s.endLocked(it.End)
		return
	}
	switch it.Kind {
	case xmppclient.EventHeader:
		return // the browser has no stream
	case xmppclient.EventStreamError:
		s.closing = &closeInfo{code: it.StreamError.Condition, text: it.StreamError.Text}
		return
	case xmppclient.EventAcked:
		s.confirmLocked(it.Seq)
		return
	case xmppclient.EventDropped:
		// Numbered by the server, so the page counts it too (sm.go).
		s.boundedSeqLocked(stanzaErrorFrame(nil, errDropped, "a stanza from the server was dropped: "+it.Fault.Error()), it.Seq)
		return
	}
	b, err := jsonxlate.AppendJSON(make([]byte, 0, len(it.Data)+len(it.Data)/2+64), it.Data, it.NS)
	if err != nil {
		// The server's XML passed the splitter's checks, so this is a bug
		// of ours: say so rather than drop the stanza silently.
		b = errorFrame(nil, errInternal, "", "a stanza from the server could not be translated: "+err.Error())
		if it.Seq != 0 {
			b = stanzaErrorFrame(nil, errInternal, "a stanza from the server could not be translated: "+err.Error())
		}
	}
	s.boundedSeqLocked(b, it.Seq)
}

// boundedLocked adds b to the log, unless that would pass the queue bound:
// frames stay until acknowledged, so a browser that neither reads nor
// acknowledges ends its own session, as a slow consumer, and nobody
// else's.
func (s *session) boundedLocked(b []byte) { s.boundedSeqLocked(b, 0) }

// boundedSeqLocked is boundedLocked for a frame that carries the stanza the
// server numbered seq.
func (s *session) boundedSeqLocked(b []byte, seq uint64) {
	if s.bytes+len(b) <= s.h.cfg.QueueBytes {
		s.appendSeqLocked(b, seq)
		return
	}
	e := &bridge.CloseError{Reason: bridge.ReasonSlowConsumer}
	s.endLocked(e)
	if s.bs != nil {
		s.bs.End(e) // it wakes this session later, not from within (bridge/doc.go)
	}
}

func (s *session) dropLocked(i int) {
	if i == 0 {
		return
	}
	n := copy(s.log, s.log[i:])
	clear(s.log[n:])
	s.log = s.log[:n]
}

// ackLocked forgets every frame up to and including n.
func (s *session) ackLocked(n uint64) {
	s.acked = max(s.acked, min(n, s.next-1))
	i := 0
	for i < len(s.log) && s.log[i].n <= n {
		s.bytes -= len(s.log[i].data)
		s.handled = max(s.handled, s.log[i].seq)
		i++
	}
	s.dropLocked(i)
}

// endLocked adds the close frame: nothing follows it.
func (s *session) endLocked(e *bridge.CloseError) {
	if s.ended {
		return
	}
	code, text := closeCode(e), e.Text
	if s.closing != nil && (e.Reason == bridge.ReasonUpstreamClosed || e.Reason == bridge.ReasonUpstreamFailed) {
		code, text = s.closing.code, s.closing.text
	}
	s.ended, s.end = true, e
	s.appendLocked(closeFrame(nil, code, text))
	// Kept a little while only, for a resend of the answer with the close.
	s.lp.SetInactivityLocked(min(s.lp.Params().Inactivity, 10*time.Second))
}

// closeCode is the close frame's code for a session's end.
func closeCode(e *bridge.CloseError) string {
	if c := e.StreamCondition(); c != "" {
		return c
	}
	return "normal"
}

// sinceLocked returns the frames numbered above n, and the number of the first.
func (s *session) sinceLocked(n uint64) (first uint64, frames []frame) {
	for i := range s.log {
		if s.log[i].n > n {
			return s.log[i].n, s.log[i:]
		}
	}
	return s.next, nil
}

// detachLocked is told that the session's page went away without ending
// it: the session waits ResumeWindow for a resume, then ends. It reports
// false when the Handler offers no resumption; the caller then ends the
// session.
func (s *session) detachLocked() bool {
	if s.h.cfg.ResumeWindow < 0 || s.ended && s.sent >= s.next-1 {
		return false // no resumption, or nothing left to resume for
	}
	if s.detached || s.gone {
		return true
	}
	s.detached = true
	if s.expiry == nil {
		s.expiry = time.AfterFunc(s.h.cfg.ResumeWindow, s.expire)
	} else {
		s.expiry.Reset(s.h.cfg.ResumeWindow)
	}
	return true
}

// backLocked is told that the page of a detached session came back on the
// same connection (a post or events stream with its sid): it is attached
// again.
func (s *session) backLocked() {
	if s.detached {
		s.detached = false
		s.expiry.Stop()
	}
}

// expire ends a session whose page did not come back within the resume
// window. The upstream stream is dropped as for a browser gone.
func (s *session) expire() {
	s.lp.Lock()
	if !s.detached || s.gone {
		s.lp.Unlock()
		return
	}
	s.gone = true
	s.lp.Unlock()
	s.h.forget(s)
	if s.bs != nil {
		s.bs.End(&bridge.CloseError{Reason: bridge.ReasonGone, Text: "no resume within the resume window"})
	}
}

// takeOverLocked lets go of the connection that served the session before
// a resume: its WebSocket hears conflict and closes, its polls get 404 and
// its events stream ends. What must be done without the lock is returned,
// to run after it.
func (s *session) takeOverLocked() (after func()) {
	old := s.wsc
	s.wsc = nil
	if old != nil {
		old.takenOver()
	}
	if s.events != nil {
		s.stopStreamLocked(s.events)
	}
	p, rid := s.lp.Params(), s.lp.RIDLocked()
	return func() {
		s.lp.Restart(p, rid, jsonResponse(http.StatusConflict,
			errorFrame(nil, errConflict, "", "the session was resumed by another connection")))
	}
}

// rememberLocked keeps which frame answered rid began with, for a resend.
func (s *session) rememberLocked(rid, first uint64) {
	window := s.lp.Params().Requests
	if len(s.answered) >= window {
		s.answered = append(s.answered[:0], s.answered[1:]...)
	}
	s.answered = append(s.answered, ridFirst{rid, first})
}

// implicitAckLocked takes a request without ack as the acknowledgement of
// the answers to rids a full window before it: a client has no more than
// window requests open, so those answers have arrived.
func (s *session) implicitAckLocked(rid uint64) {
	window := uint64(s.lp.Params().Requests)
	for _, a := range s.answered {
		if a.rid+window > rid {
			s.ackLocked(a.first - 1)
			return
		}
	}
	s.ackLocked(s.sent)
}

func (s *session) firstOfLocked(rid uint64) (uint64, bool) {
	for _, a := range s.answered {
		if a.rid == rid {
			return a.first, true
		}
	}
	return 0, false
}

// send forwards the browser's frames upstream, in order. Control frames
// and bad frames get error frames in the log; a close ends the session.
//
// gen is the generation of the session the frames came for: frames that a
// connection let go at a resume still sends are not taken, for the page
// sends them again over the new one after what the resume says was taken.
func (s *session) send(frames []json.RawMessage, gen uint32) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	s.lp.Lock()
	current := s.gen == gen
	s.lp.Unlock()
	if !current {
		return
	}
	var buf []byte
	errs := 0
	// report reports one bad frame and says whether to read on.
	report := func(e apiError) bool {
		errs++
		if errs == maxErrors {
			e = apiError{code: errTooLarge, id: e.id, text: "too many bad frames at once: the rest were not read"}
		}
		s.report(e)
		return errs < maxErrors
	}
	defer s.flushHandled()
	defer func() {
		s.lp.Lock()
		s.settled = s.received
		s.lp.Unlock()
	}()
	for _, f := range frames {
		kind, id, err := jsonxlate.Peek(f)
		var frameNo uint64
		if err != nil || kind != "ack" {
			s.lp.Lock()
			s.settled = s.received // frames are dealt with one at a time
			s.received++
			frameNo = s.received
			s.lp.Unlock()
		}
		if err != nil {
			if !report(errorFromXlate(err, id)) {
				return
			}
			continue
		}
		switch kind {
		case "close":
			// The page is done: what it was sent counts as handled, so
			// that the server does not deliver it again elsewhere.
			s.lp.Lock()
			for _, f := range s.log {
				if f.n <= s.sent {
					s.handled = max(s.handled, f.seq)
				}
			}
			s.lp.Unlock()
			s.flushHandled()
			s.bs.End(&bridge.CloseError{Reason: bridge.ReasonNormal})
			return
		case "login", "resume":
			if !report(apiError{code: errAlreadyLoggedIn, id: id, text: "this session is logged in already"}) {
				return
			}
			continue
		case "ack":
			var a struct{ N *uint64 }
			if json.Unmarshal(f, &a) != nil || a.N == nil {
				if !report(apiError{code: errMissingField, id: id, text: "n"}) {
					return
				}
				continue
			}
			s.lp.Lock()
			s.ackLocked(*a.N)
			// Over a WebSocket the page learns what was confirmed in
			// answer to its acks, and as the server confirms (sm.go).
			s.tellConfirmedLocked()
			s.lp.Unlock()
			continue
		}
		buf, err = jsonxlate.AppendXML(buf[:0], f)
		if err == nil && len(buf) > s.h.cfg.MaxFrameBytes {
			err = &jsonxlate.Error{Code: errTooLarge, Text: "stanza over the size limit"}
		}
		if err == nil {
			err = checkXMLNames(buf)
		}
		if err != nil {
			if !report(errorFromXlate(err, id)) {
				return
			}
			continue
		}
		stanza := isStanza(buf)
		s.lp.Lock()
		skip := stanza && s.skip > 0
		if skip {
			s.skip-- // the server has it: sent before a resume elsewhere
		}
		s.lp.Unlock()
		if skip {
			continue
		}
		if err := s.bs.Send(buf); err != nil {
			return // the session ends; its close frame says why
		}
		if stanza {
			s.lp.Lock()
			s.sentLocked(frameNo)
			s.lp.Unlock()
		}
	}
}

// maxErrors bounds the error frames one request or message can cause.
const maxErrors = 16

// maxEcho bounds what an error frame repeats of the browser's own input.
const maxEcho = 256

// report adds an error frame for the browser, within the queue bound.
func (s *session) report(e apiError) {
	s.lp.Lock()
	if !s.ended {
		s.boundedLocked(errorFrame(nil, e.code, truncate(e.id), truncate(e.text)))
	}
	s.lp.Unlock()
}

// truncate cuts s to maxEcho bytes, at a character boundary.
func truncate(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	i := maxEcho
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}
