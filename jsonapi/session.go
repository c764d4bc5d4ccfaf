package jsonapi

import (
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/jsonxlate"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// frame is one numbered frame for the browser.
type frame struct {
	n    uint64
	data []byte
}

// session is one JSON API session: its bridge session, the numbered frames
// for the browser, and the order of what the browser sends.
//
// Frames are built from the bridge session's queue only when a consumer (a
// WebSocket writer, an events stream, a held poll) looks, so a session nobody
// reads from holds its backlog in the bridge's bounded queue. Frames stay in
// log until the browser acknowledges them (HTTP transports) or until written
// (WebSocket): a dropped answer or stream is sent again.
type session struct {
	h   *Handler
	sid string // HTTP transports; "" on a WebSocket
	bs  *bridge.Session
	jid string

	mu      sync.Mutex
	changed chan struct{} // closed and replaced when consumers should look again
	log     []frame       // frames not yet acknowledged, in order
	bytes   int           // the size of log
	next    uint64        // number of the next frame
	sent    uint64        // highest number put in an answer or event
	closing *closeInfo    // a stream error seen, for the close frame
	ended   bool          // the close frame is in log
	end     *bridge.CloseError
	gone    bool   // forgotten: no consumer may attach again
	acked   uint64 // highest number the browser acknowledged

	closingWS atomic.Bool // WebSocket: the close frame is written

	// The order of what the browser sends (HTTP transports).
	rid      uint64        // highest rid taken; every lower one was too
	busy     bool          // rid+1 is being forwarded upstream
	ridDone  chan struct{} // closed and replaced each time a rid is taken
	answered []ridFirst    // recent rids and the first frame of their answer

	window    int             // how far ahead of rid a request may be
	wait      time.Duration   // polls: the longest one is held
	hold      int             // polls: the most held at once
	held      []chan struct{} // polls held, oldest first: closed to answer now
	consumers int             // held polls and events streams
	stream    chan struct{}   // closed to end the current events stream
	timer     *time.Timer     // inactivity, while no consumer is attached
	idleAt    time.Time       // when the armed timeout is due
	pauseTo   time.Duration
}

type ridFirst struct {
	rid   uint64
	first uint64
}

type closeInfo struct {
	code, text string
}

// Wake implements bridge.Transport.
func (s *session) Wake() {
	s.mu.Lock()
	s.signalLocked()
	s.mu.Unlock()
}

func (s *session) signalLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// appendLocked numbers b and adds it to the log.
func (s *session) appendLocked(b []byte) {
	s.log = append(s.log, frame{n: s.next, data: b})
	s.bytes += len(b)
	s.next++
	s.signalLocked()
}

// fillLocked turns what the bridge session has queued into frames. A
// frame that would take the log past the queue bound ends the session as a
// slow consumer.
func (s *session) fillLocked() {
	if s.bs == nil || s.ended {
		return
	}
	for {
		items := s.bs.Pull(nil)
		if len(items) == 0 {
			return
		}
		for i := range items {
			s.itemLocked(&items[i])
		}
		s.bs.Release(items)
		if s.ended {
			return
		}
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
	// End wakes this session's consumers, which takes s.mu: not from
	// here, but from a goroutine that ends with the call.
	if s.bs != nil {
		go s.bs.End(e)
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
	s.appendLocked(closeFrame(nil, code, text))
	s.ended, s.end = true, e
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

// waitForLocked blocks until frames above n are ready, the session ends,
// a or b is closed or the timer fires. It is called and returns with s.mu
// held.
func (s *session) waitForLocked(n uint64, a, b <-chan struct{}, timer <-chan time.Time) {
	for {
		s.fillLocked()
		if s.next-1 > n {
			return
		}
		ch := s.changed
		s.mu.Unlock()
		woken := false
		select {
		case <-ch:
			woken = true
		case <-a:
		case <-b:
		case <-timer:
		case <-s.h.ctx.Done():
		}
		s.mu.Lock()
		if !woken {
			s.fillLocked()
			return
		}
	}
}

// Consumers.

// attachLocked counts a consumer in: no inactivity timeout while one is
// attached.
func (s *session) attachLocked() {
	s.consumers++
	if s.timer != nil {
		s.timer.Stop()
	}
}

// detachLocked counts a consumer out and arms the inactivity timeout when
// it was the last.
func (s *session) detachLocked() {
	s.consumers--
	s.armLocked()
}

// armLocked starts the inactivity timeout if no consumer is attached.
func (s *session) armLocked() {
	if s.consumers > 0 || s.gone {
		return
	}
	d := s.h.cfg.Inactivity
	if s.pauseTo > d {
		d = s.pauseTo
	}
	if s.ended {
		// Keep the close frame for a resend for a little while only.
		d = min(d, 10*time.Second)
	}
	s.idleAt = time.Now().Add(d)
	if s.timer == nil {
		s.timer = time.AfterFunc(d, s.onIdle)
	} else {
		s.timer.Reset(d)
	}
}

// onIdle ends and forgets a session nobody has looked at for too long.
func (s *session) onIdle() {
	s.mu.Lock()
	if s.consumers > 0 || s.gone || time.Now().Before(s.idleAt) {
		// Used again since the timer was set: a later one is running, or
		// will be armed when the consumer leaves.
		s.mu.Unlock()
		return
	}
	s.gone = true
	s.mu.Unlock()
	s.h.forget(s)
	if s.bs != nil {
		s.bs.End(&bridge.CloseError{Reason: bridge.ReasonConnectionTimeout})
	}
}

// The order of requests (HTTP transports).

var (
	errRIDWindow = errors.New("rid outside the window")
	errRIDTurn   = errors.New("the requests before this rid did not arrive in time")
)

// admitLocked waits until rid is the next one to take, or reports that it
// was taken before (repeat): a copy of a request still being forwarded
// waits for it and is then a repeat. On success with repeat false the
// caller forwards the request's frames and then calls doneLocked.
func (s *session) admitLocked(rid uint64, window int, stop <-chan struct{}) (repeat bool, err error) {
	var t *time.Timer
	defer func() {
		if t != nil {
			t.Stop()
		}
	}()
	for {
		switch {
		case rid <= s.rid:
			return true, nil
		case rid > s.rid+uint64(window):
			return false, errRIDWindow
		case rid == s.rid+1 && !s.busy:
			s.busy = true
			return false, nil
		}
		if t == nil {
			t = time.NewTimer(s.h.cfg.Wait)
		}
		if s.ridDone == nil {
			s.ridDone = make(chan struct{})
		}
		done := s.ridDone
		s.mu.Unlock()
		timedOut := false
		select {
		case <-done:
		case <-t.C:
			timedOut = true
		case <-stop:
			timedOut = true
		case <-s.h.ctx.Done():
			timedOut = true
		}
		s.mu.Lock()
		if timedOut && rid > s.rid {
			return false, errRIDTurn
		}
	}
}

// doneLocked marks rid taken and lets the requests waiting look again.
func (s *session) doneLocked(rid uint64) {
	s.rid = rid
	s.busy = false
	if s.ridDone != nil {
		close(s.ridDone)
		s.ridDone = nil
	}
}

// rememberLocked keeps which frame answered rid began with, for a repeat.
func (s *session) rememberLocked(rid, first uint64, window int) {
	if len(s.answered) >= window {
		s.answered = append(s.answered[:0], s.answered[1:]...)
	}
	s.answered = append(s.answered, ridFirst{rid, first})
}

// implicitAckLocked takes a request without ack as the acknowledgement of
// the answers to rids a full window before it: a client has no more than
// window requests open, so those answers have arrived.
func (s *session) implicitAckLocked(rid uint64) {
	for _, a := range s.answered {
		if a.rid+uint64(s.window) > rid {
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
	s.mu.Lock()
	if !s.ended {
		s.boundedLocked(errorFrame(nil, e.code, truncate(e.id), truncate(e.text)))
	}
	s.mu.Unlock()
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
