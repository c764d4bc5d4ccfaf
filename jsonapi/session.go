package jsonapi

import (
	"encoding/json"
	"errors"
	"sync"
	"time"

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
	gone    bool // forgotten: no consumer may attach again

	// The order of what the browser sends (HTTP transports).
	rid      uint64                   // highest rid taken; every lower one was too
	busy     bool                     // rid is being forwarded upstream
	turns    map[uint64]chan struct{} // early requests waiting for their turn
	answered []ridFirst               // recent rids and the first frame of their answer

	window    int             // how far ahead of rid a request may be
	wait      time.Duration   // polls: the longest one is held
	hold      int             // polls: the most held at once
	held      []chan struct{} // polls held, oldest first: closed to answer now
	consumers int             // held polls and events streams
	stream    chan struct{}   // closed to end the current events stream
	timer     *time.Timer     // inactivity, while no consumer is attached
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
	if it.Kind != xmppclient.EventElement {
		return // stream headers: the browser has no stream
	}
	if cond, text, ok := bridge.ParseStreamError(it.Data); ok {
		s.closing = &closeInfo{code: cond, text: text}
		return
	}
	b, err := jsonxlate.AppendJSON(make([]byte, 0, len(it.Data)+len(it.Data)/2+64), it.Data, it.NS)
	if err != nil {
		// The server's XML passed the splitter's checks, so this is a bug
		// of ours: say so rather than drop the stanza silently.
		b = errorFrame(nil, errInternal, "", "a stanza from the server could not be translated: "+err.Error())
	}
	if s.bytes+len(b) > s.h.cfg.QueueBytes {
		s.trimSentLocked(s.bytes + len(b) - s.h.cfg.QueueBytes)
		if s.bytes+len(b) > s.h.cfg.QueueBytes {
			e := &bridge.CloseError{Reason: bridge.ReasonSlowConsumer}
			s.endLocked(e)
			// End wakes this session's consumers, which takes s.mu: not
			// from here.
			go s.bs.End(e)
			return
		}
	}
	s.appendLocked(b)
}

// trimSentLocked forgets frames already sent, oldest first, until n bytes
// are freed or only unsent frames are left: a resume from before them is no
// longer possible, but nothing unsent is lost.
func (s *session) trimSentLocked(n int) {
	i := 0
	for i < len(s.log) && s.log[i].n <= s.sent && n > 0 {
		n -= len(s.log[i].data)
		s.bytes -= len(s.log[i].data)
		i++
	}
	s.dropLocked(i)
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

// since returns the frames numbered above n, and the number of the first.
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
	if s.timer == nil {
		s.timer = time.AfterFunc(d, s.onIdle)
	} else {
		s.timer.Reset(d)
	}
}

// onIdle ends and forgets a session nobody has looked at for too long.
func (s *session) onIdle() {
	s.mu.Lock()
	if s.consumers > 0 || s.gone {
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

// admit waits until rid is the next one to take, or reports that it was
// taken before (repeat). On success with repeat false the caller forwards
// the request's frames and then calls done.
func (s *session) admitLocked(rid uint64, window int, stop <-chan struct{}) (repeat bool, err error) {
	if rid <= s.rid {
		return true, nil
	}
	if rid > s.rid+uint64(window) {
		return false, errRIDWindow
	}
	if rid == s.rid+1 && !s.busy {
		s.busy = true
		return false, nil
	}
	if s.turns == nil {
		s.turns = make(map[uint64]chan struct{})
	}
	if _, dup := s.turns[rid]; dup {
		return false, errRIDTurn
	}
	turn := make(chan struct{})
	s.turns[rid] = turn
	s.mu.Unlock()
	t := time.NewTimer(s.h.cfg.Wait)
	select {
	case <-turn:
	case <-t.C:
	case <-stop:
	}
	t.Stop()
	s.mu.Lock()
	if s.turns[rid] == nil && s.rid+1 == rid && s.busy {
		return false, nil // granted: doneLocked handed the turn over
	}
	delete(s.turns, rid)
	return false, errRIDTurn
}

// doneLocked marks rid taken and hands the turn to the next, if waiting.
func (s *session) doneLocked(rid uint64) {
	s.rid = rid
	s.busy = false
	if turn, ok := s.turns[rid+1]; ok {
		delete(s.turns, rid+1)
		s.busy = true
		close(turn)
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
	for _, f := range frames {
		kind, id, err := jsonxlate.Peek(f)
		if err != nil {
			s.report(errorFromXlate(err, id))
			continue
		}
		switch kind {
		case "close":
			s.bs.End(&bridge.CloseError{Reason: bridge.ReasonNormal})
			return
		case "login":
			s.report(apiError{code: errAlreadyLoggedIn, id: id, text: "this session is logged in already"})
			continue
		}
		if len(f) > s.h.cfg.MaxFrameBytes {
			s.report(apiError{code: errTooLarge, id: id, text: "frame over the size limit"})
			continue
		}
		buf, err = jsonxlate.AppendXML(buf[:0], f)
		if err != nil {
			s.report(errorFromXlate(err, id))
			continue
		}
		if len(buf) > s.h.cfg.MaxFrameBytes {
			s.report(apiError{code: errTooLarge, id: id, text: "stanza over the size limit"})
			continue
		}
		if err := s.bs.Send(buf); err != nil {
			return // the session ends; its close frame says why
		}
	}
}

// report adds an error frame for the browser.
func (s *session) report(e apiError) {
	s.mu.Lock()
	if !s.ended {
		s.appendLocked(errorFrame(nil, e.code, e.id, e.text))
	}
	s.mu.Unlock()
}
