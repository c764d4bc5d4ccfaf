package jsonapi

import (
	"encoding/json"
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
	data []byte
}

// session is one JSON API session: its bridge session, the numbered frames
// for the browser, and, on the HTTP transports, the request engine that
// orders what the browser sends and holds its polls (package longpoll; the
// session is its Content).
//
// Frames are built from the bridge session's queue only when a consumer (a
// WebSocket writer, an events stream, a held poll) looks, so a session nobody
// reads from holds its backlog in the bridge's bounded queue. Frames stay in
// log until the browser acknowledges them (HTTP transports) or until written
// (WebSocket): a dropped answer or stream is sent again.
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

// signalLocked tells every consumer that frames may be ready.
func (s *session) signalLocked() {
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
func (s *session) appendLocked(b []byte) {
	s.log = append(s.log, frame{n: s.next, data: b})
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
	}
	b, err := jsonxlate.AppendJSON(make([]byte, 0, len(it.Data)+len(it.Data)/2+64), it.Data, it.NS)
	if err != nil {
		// The server's XML passed the splitter's checks, so this is a bug
		// of ours: say so rather than drop the stanza silently.
		b = errorFrame(nil, errInternal, "", "a stanza from the server could not be translated: "+err.Error())
	}
	s.boundedLocked(b)
}

// boundedLocked adds b to the log, unless that would pass the queue bound:
// frames stay until acknowledged, so a browser that neither reads nor
// acknowledges ends its own session, as a slow consumer, and nobody
// else's.
func (s *session) boundedLocked(b []byte) {
	if s.bytes+len(b) <= s.h.cfg.QueueBytes {
		s.appendLocked(b)
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
func (s *session) send(frames []json.RawMessage) {
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
	for _, f := range frames {
		kind, id, err := jsonxlate.Peek(f)
		if err != nil {
			if !report(errorFromXlate(err, id)) {
				return
			}
			continue
		}
		switch kind {
		case "close":
			s.bs.End(&bridge.CloseError{Reason: bridge.ReasonNormal})
			return
		case "login":
			if !report(apiError{code: errAlreadyLoggedIn, id: id, text: "this session is logged in already"}) {
				return
			}
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
		if err := s.bs.Send(buf); err != nil {
			return // the session ends; its close frame says why
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
