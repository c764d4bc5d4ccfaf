package bosh

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// reportAfter is how long ago a response must have been sent before a
// client's ack that misses it is reported (XEP-0124 §9.2): younger ones are
// most likely still on their way.
const reportAfter = time.Second

// session is one BOSH session: the requests it holds, the rid window, the
// cache of recent responses, and its bridge session.
type session struct {
	h   *Handler
	sid string

	// Fixed when the session is created.
	wait           time.Duration // longest a request is held
	hold           int
	requests       int           // the rid window and the most open requests
	inactivity     time.Duration // without requests, before the session ends
	polling        time.Duration
	pollingSession bool          // wait or hold is zero (XEP-0124 §12)
	maxPause       time.Duration // zero: no pausing
	legacy         bool          // no 'ver' in the creation request
	acks           bool          // the client acknowledges responses (ack='1')
	content        string        // Content-Type of responses; "" the default
	overTLS        bool          // created over TLS (XEP-0124 §19.1)

	mu      sync.Mutex
	bs      *bridge.Session
	changed chan struct{} // closed and replaced when held requests should look again
	create  *creation     // the creation response's attributes, until it is sent

	rcvd  uint64     // highest rid taken in order; every lower one was too
	busy  bool       // the request rcvd is being forwarded upstream
	early []*request // requests inside the window waiting for their turn
	held  []*request // forwarded requests waiting for a response, in rid order
	out   []bridge.Item

	cache    []cached // recent responses by rid, oldest first
	lastResp uint64   // highest rid answered
	key      string   // what the next request's key must hash to (XEP-0124 §15)

	terminating bool // the client asked to terminate (XEP-0124 §13)
	ended       bool
	endBody     []byte // the answer for requests held when the session ended
	endStatus   int

	report   uint64 // rid of a response the client seems to have missed
	reportAt time.Time
	paused   time.Duration // a pause asked for, until the next request

	// The request-frequency rules (XEP-0124 §11, §12).
	lastNew           time.Time // arrival of the latest new request
	maxRID            uint64    // highest rid taken, in order or not
	prevRID           uint64    // the latest new request
	prevEmpty         bool
	prevAnswered      bool
	prevAnsweredEmpty bool

	idleUntil time.Time
	timer     *time.Timer // inactivity (XEP-0124 §10); no goroutine while idle
}

// request is one request the session has taken and not yet answered.
type request struct {
	rid       uint64
	deadline  time.Time // when an empty response is due
	create    bool      // the session creation request
	pause     time.Duration
	terminate bool
	// now: answer as soon as it is the oldest (pause, terminate).
	now        bool
	expired    bool
	superseded bool          // the client sent the same rid again
	turn       chan struct{} // early requests: closed when it is their turn
	granted    bool
	woken      bool
}

type cached struct {
	rid  uint64
	body []byte
	at   time.Time
}

// Wake implements bridge.Transport: held requests look at the queue again.
func (s *session) Wake() {
	s.mu.Lock()
	s.signalLocked()
	s.mu.Unlock()
}

func (s *session) signalLocked() {
	if len(s.held) == 0 {
		return // nobody waits on the channel
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// active is the number of requests taken and not answered.
func (s *session) activeLocked() int {
	n := len(s.held) + len(s.early)
	if s.busy {
		n++
	}
	return n
}

// handle serves one request of an existing session. refused is set when the
// request itself caused a terminal condition, for OnReject. When ctx is done
// the request is answered as if its wait had run out.
func (s *session) handle(ctx context.Context, rb *body) (resp []byte, status int, refused *bindError) {
	now := s.h.now()
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return terminateBody(condItemNotFound, ""), httpStatus(condItemNotFound, s.legacy), &bindError{reason: bridge.ReasonItemNotFound, text: "session ended"}
	}
	if rb.stream != "" && (len(rb.payloads) > 0 || rb.from != "") {
		// Multiple streams (XEP-0124 §16) are not offered, so no stream
		// name is valid (§16.4). An empty body without 'from' says nothing
		// for any stream, and its 'stream' is ignored.
		return s.failUnlock(&bindError{reason: bridge.ReasonItemNotFound, text: "no stream " + rb.stream + ": multiple streams are not offered"})
	}
	if rb.rid <= s.rcvd {
		return s.repeatLocked(ctx, rb)
	}
	if rb.rid > s.rcvd+uint64(s.requests) {
		return s.failUnlock(&bindError{reason: bridge.ReasonItemNotFound, text: "rid outside the window"})
	}
	r := &request{rid: rb.rid, terminate: rb.typ == "terminate"}
	if rb.hasPause {
		r.pause = time.Duration(rb.pause) * time.Second
	}
	superseding := false
	for i, old := range s.early {
		if old.rid == rb.rid {
			// The same rid again before its turn: the first copy gets the
			// recoverable condition (XEP-0124 §14.3).
			old.superseded = true
			wakeEarly(old)
			r.granted = old.granted
			s.early[i] = r
			superseding = true
			break
		}
	}
	if !superseding {
		if e := s.overactiveLocked(rb, now); e != nil {
			return s.failUnlock(e)
		}
		s.lastNew, s.prevRID, s.prevEmpty, s.prevAnswered = now, rb.rid, rb.empty(), false
		s.maxRID = max(s.maxRID, rb.rid)
		s.paused = 0 // back to normal inactivity at the next request (§10)
	}

	if !r.granted && (rb.rid != s.rcvd+1 || s.busy) {
		// Out of order: wait until every lower rid has been forwarded
		// (XEP-0124 §14.2). Bounded by wait: if the gap is not filled by
		// then, the recoverable condition makes the client resend what it
		// has no answer to.
		r.turn = make(chan struct{})
		if !superseding {
			s.early = append(s.early, r)
		}
		gap := s.wait
		if gap == 0 {
			gap = time.Second // a polling session with a window over one
		}
		s.mu.Unlock()
		t := time.NewTimer(gap)
		shutdown := false
		select {
		case <-r.turn:
		case <-t.C:
		case <-ctx.Done():
		case <-s.h.ctx.Done():
			shutdown = true
		}
		t.Stop()
		s.mu.Lock()
		switch {
		case r.superseded:
			s.mu.Unlock()
			return errorBody, http.StatusOK, nil
		case s.ended:
			s.removeEarlyLocked(r)
			resp, status := s.endBody, s.endStatus
			s.mu.Unlock()
			return resp, status, nil
		case !r.granted:
			s.removeEarlyLocked(r)
			if shutdown {
				return s.shutdownUnlock()
			}
			s.armIdleLocked()
			s.mu.Unlock()
			return errorBody, http.StatusOK, nil
		}
	}
	s.removeEarlyLocked(r)

	// r's turn: every lower rid has been forwarded.
	if e := s.checkKeyLocked(rb); e != nil {
		return s.failUnlock(e)
	}
	if r.pause > 0 && (s.maxPause <= 0 || r.pause > s.maxPause) {
		return s.failUnlock(&bindError{reason: bridge.ReasonPolicyViolation, text: "pause longer than maxpause"})
	}
	s.acksLocked(rb, now)
	s.busy, s.rcvd = true, rb.rid
	bs := s.bs
	s.mu.Unlock()

	// Forwarded outside the lock: these write to the server. A failure
	// ends the bridge session, whose end the held requests then report.
	if rb.restart {
		// XEP-0206 §5: payloads in a restart request are ignored.
		_ = bs.Restart()
	} else {
		for _, p := range rb.payloads {
			if bs.Send(p) != nil {
				break
			}
		}
	}

	rb.payloads = nil // sent: a held request keeps none of them

	s.mu.Lock()
	s.busy = false
	r.deadline = time.Now().Add(s.wait)
	switch {
	case r.pause > 0:
		// XEP-0124 §10: answer every pending request now, the pause
		// request last and without payloads.
		s.paused = r.pause
		for _, o := range s.held {
			o.now = true
		}
		r.now = true
	case r.terminate:
		s.terminating = true
		r.now = true
	}
	s.held = append(s.held, r)
	s.grantLocked()
	s.signalLocked()
	s.mu.Unlock()
	if r.terminate {
		// After terminating is set: the end this brings is the client's.
		bs.End(&bridge.CloseError{Reason: bridge.ReasonNormal})
	}
	resp, status = s.await(ctx, r)
	return resp, status, nil
}

// overactiveLocked applies XEP-0124 §11 and §12 to a new request.
func (s *session) overactiveLocked(rb *body, now time.Time) *bindError {
	open := s.activeLocked() + 1
	special := rb.hasPause || rb.typ == "terminate"
	since := now.Sub(s.lastNew)
	switch {
	case open > s.requests+1 || open > s.requests && !special:
		return &bindError{reason: bridge.ReasonPolicyViolation,
			text: "more than " + strconv.Itoa(s.requests) + " requests open at once"}
	case !s.pollingSession && open == s.requests && rb.empty() && rb.rid > s.maxRID && since < s.polling:
		// "The last request" is the last of the sequence: one that arrives
		// after a later rid was only overtaken on the way.
		return &bindError{reason: bridge.ReasonPolicyViolation,
			text: "empty requests more often than the polling interval"}
	case s.pollingSession && rb.empty() && s.prevEmpty && s.prevAnswered && s.prevAnsweredEmpty && since < s.polling:
		return &bindError{reason: bridge.ReasonPolicyViolation,
			text: "polling more often than the polling interval"}
	}
	return nil
}

// checkKeyLocked applies the key sequence (XEP-0124 §15) for a client that
// uses one: each key must hash to the one before.
func (s *session) checkKeyLocked(rb *body) *bindError {
	if s.key != "" {
		if rb.key == "" || !keyFollows(rb.key, s.key) {
			return &bindError{reason: bridge.ReasonItemNotFound, text: "invalid key sequence"}
		}
		s.key = rb.key
	}
	if rb.newkey != "" {
		s.key = rb.newkey
	}
	return nil
}

// keyFollows reports whether hex(SHA-1(key)) is prev, ignoring case.
func keyFollows(key, prev string) bool {
	sum := sha1.Sum([]byte(strings.ToLower(key)))
	return strings.EqualFold(hex.EncodeToString(sum[:]), prev)
}

// acksLocked applies the client's response acknowledgement (XEP-0124
// §9.2): acknowledged responses leave the cache, and a response the client
// seems to have missed is reported in the next response, sent at once.
func (s *session) acksLocked(rb *body, now time.Time) {
	if !s.acks {
		return
	}
	ack := rb.rid - 1 // no ack: every earlier response arrived
	if rb.hasAck {
		ack = rb.ack
	}
	keep := s.cache[:0]
	for _, c := range s.cache {
		if c.rid > ack {
			keep = append(keep, c)
		}
	}
	clear(s.cache[len(keep):])
	s.cache = keep
	if ack < s.lastResp && len(s.cache) > 0 && s.cache[0].rid == ack+1 && now.Sub(s.cache[0].at) >= reportAfter {
		s.report, s.reportAt = ack+1, s.cache[0].at
		for _, o := range s.held {
			o.now = true
		}
	}
}

// repeatLocked answers a request whose rid was already taken (XEP-0124
// §14.3): from the cache, or by taking over the held copy, or item-not-found.
func (s *session) repeatLocked(ctx context.Context, rb *body) ([]byte, int, *bindError) {
	for _, c := range s.cache {
		if c.rid == rb.rid {
			s.mu.Unlock()
			return c.body, http.StatusOK, nil
		}
	}
	for i, old := range s.held {
		if old.rid == rb.rid {
			r := &request{rid: old.rid, create: old.create, pause: old.pause, terminate: old.terminate, now: old.now,
				deadline: time.Now().Add(s.wait)}
			old.superseded = true
			s.held[i] = r
			s.signalLocked()
			s.mu.Unlock()
			resp, status := s.await(ctx, r)
			return resp, status, nil
		}
	}
	if rb.rid == s.rcvd && s.busy {
		s.mu.Unlock()
		return errorBody, http.StatusOK, nil
	}
	return s.failUnlock(&bindError{reason: bridge.ReasonItemNotFound,
		text: "no response kept for rid " + strconv.FormatUint(rb.rid, 10)})
}

// await waits until r is answered: in rid order, when the server sent
// something, when more than hold requests are held, when wait runs out or
// ctx is done, or at once for a pause or a terminate.
func (s *session) await(ctx context.Context, r *request) ([]byte, int) {
	var tc <-chan time.Time
	expired := false
	if d := time.Until(r.deadline); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		tc = t.C
	} else {
		expired = true
	}
	shutdown := false
	done := ctx.Done()
	for {
		s.mu.Lock()
		if expired {
			r.expired = true
		}
		if shutdown && !s.ended {
			s.endLocked(terminateBody(condSystemShutdown, ""), http.StatusOK)
		}
		resp, status, end, ok := s.answerLocked(r)
		ch := s.changed
		bs := s.bs
		s.mu.Unlock()
		if ok {
			if end != nil && bs != nil {
				bs.End(end)
			}
			return resp, status
		}
		select {
		case <-ch:
		case <-tc:
			tc, expired = nil, true
		case <-done:
			// The client went away: its answer goes into the cache, for
			// a resend of the rid (XEP-0124 §14.3).
			done, expired = nil, true
		case <-s.h.ctx.Done():
			shutdown = true
		}
	}
}

// answerLocked answers r if it is time. end, if set, is how the bridge
// session must end (the caller ends it outside the lock).
func (s *session) answerLocked(r *request) (resp []byte, status int, end *bridge.CloseError, ok bool) {
	if r.superseded {
		return errorBody, http.StatusOK, nil, true
	}
	if s.ended {
		s.removeHeldLocked(r)
		return s.endBody, s.endStatus, nil, true
	}
	if len(s.held) == 0 || s.held[0] != r {
		return nil, 0, nil, false // answers go out in rid order
	}
	if r.pause > 0 {
		// No payloads in the answer to a pause (XEP-0124 §10), and it is
		// not kept for a resend (§14.3).
		b := s.appendAcks(appendBodyStart(make([]byte, 0, 96)), r)
		b = append(b, "/>"...)
		s.finishLocked(r)
		return b, http.StatusOK, nil, true
	}
	s.pullLocked()
	if !s.terminating && !r.now && !r.expired && len(s.held) <= s.hold && s.report == 0 && !hasPayload(s.out) {
		return nil, 0, nil, false
	}
	resp, status, end = s.respondLocked(r)
	return resp, status, end, true
}

// pullLocked takes everything the bridge session has queued.
func (s *session) pullLocked() {
	if s.bs == nil {
		return
	}
	for {
		got := s.bs.Pull(nil)
		if len(got) == 0 {
			return // the queue now wakes us for the next item
		}
		if s.out == nil {
			s.out = got
		} else {
			s.out = append(s.out, got...)
			s.bs.Release(got)
		}
	}
}

// hasPayload reports whether items hold something for the client: an
// element or the session's end (a stream header alone is not).
func hasPayload(items []bridge.Item) bool {
	for i := range items {
		if items[i].End != nil || items[i].Kind != xmppclient.EventHeader {
			return true
		}
	}
	return false
}

// respondLocked builds r's response from what was pulled.
func (s *session) respondLocked(r *request) ([]byte, int, *bridge.CloseError) {
	// Find where the stream ends (a stream error or the session's end):
	// nothing after that goes out.
	cut := len(s.out)
	var endItem *bridge.CloseError
	var streamErr *bridge.Item
	size, streamPrefix, payloads := 0, false, 0
	for i := range s.out {
		it := &s.out[i]
		if it.End != nil {
			endItem, cut = it.End, i
			break
		}
		switch it.Kind {
		case xmppclient.EventHeader:
			if s.create != nil && s.create.header == nil {
				h := it.Header
				s.create.header = &h
			}
			continue
		case xmppclient.EventStreamError:
			streamErr, cut = it, i
		}
		if streamErr != nil {
			break
		}
		size += len(it.Data) + len(it.NS)
		streamPrefix = streamPrefix || usesStreamPrefix(it.Data)
		payloads++
	}

	cond, uri := "", ""
	var built []byte // a <stream:error/> or <uri/> of our own
	var end *bridge.CloseError
	terminal := true
	switch {
	case streamErr != nil:
		// XEP-0206 §6: the server's stream error, in a terminate body.
		cond = condRemoteStreamError
		end = &bridge.CloseError{Reason: bridge.ReasonUpstreamClosed}
	case endItem != nil:
		cond, uri = endItem.Reason.BOSHCondition(), endItem.URI
		switch {
		case endItem.Condition != "":
			// A stream error the server gave while the stream was being
			// opened: relayed as one (XEP-0124 §17.2 note).
			cond = condRemoteStreamError
			built = bridge.AppendStreamError(nil, endItem.Condition, endItem.Text)
		case cond == condUndefined:
			// §17.2: with undefined-condition, the application's own
			// words in the body; XMPP's are a stream error.
			built = bridge.AppendStreamError(nil, endItem.StreamCondition(), endItem.Text)
		}
	case s.terminating:
	default:
		terminal = false
	}

	b := make([]byte, 0, size+len(built)+512)
	b = appendBodyStart(b)
	if streamPrefix || built != nil || cond == condRemoteStreamError {
		b = append(b, " xmlns:stream='"+nsStream+"'"...)
	}
	if terminal {
		b = append(b, " type='terminate'"...)
		b = xmlsplit.AppendAttr(b, "condition", cond)
	} else if s.create != nil && r.create {
		b = appendCreationAttrs(b, s.create)
	}
	b = s.appendAcks(b, r)
	if payloads == 0 && streamErr == nil && built == nil && (cond != condSeeOtherURI || uri == "") {
		b = append(b, "/>"...)
	} else {
		b = append(b, '>')
		for i := range s.out[:cut] {
			if it := &s.out[i]; it.Kind == xmppclient.EventElement {
				b = appendItem(b, it)
			}
		}
		if streamErr != nil {
			b = appendItem(b, streamErr)
		}
		b = append(b, built...)
		if cond == condSeeOtherURI && uri != "" {
			b = append(b, "<uri>"...)
			b = xmlsplit.AppendEscape(b, uri)
			b = append(b, "</uri>"...)
		}
		b = append(b, "</body>"...)
	}
	if s.bs != nil {
		s.bs.Release(s.out)
	}
	s.out = nil
	if r.create {
		s.create = nil
	}

	status := httpStatus(cond, s.legacy)
	if terminal {
		// The oldest request carries the end; the others get an empty
		// body after the client's own terminate (XEP-0124 §13), else the
		// same condition.
		rest, restStatus := terminateBody(cond, uri), status
		if s.terminating && cond == "" {
			rest = emptyBody
		}
		s.removeHeldLocked(r)
		s.endLocked(rest, restStatus)
		return b, status, end
	}
	if r.rid == s.prevRID {
		s.prevAnswered, s.prevAnsweredEmpty = true, payloads == 0
	}
	s.keepLocked(r.rid, b)
	s.finishLocked(r)
	return b, status, nil
}

// appendAcks appends the request acknowledgement (XEP-0124 §9.1: the
// highest rid taken, when higher than the one answered) and a report of a
// missed response (§9.2).
func (s *session) appendAcks(b []byte, r *request) []byte {
	if !r.create && s.rcvd > r.rid {
		b = xmlsplit.AppendAttr(b, "ack", strconv.FormatUint(s.rcvd, 10))
	}
	if s.report != 0 {
		b = xmlsplit.AppendAttr(b, "report", strconv.FormatUint(s.report, 10))
		b = xmlsplit.AppendAttr(b, "time", strconv.FormatInt(s.h.now().Sub(s.reportAt).Milliseconds(), 10))
		s.report = 0
	}
	return b
}

// keepLocked caches a response for a resend of its rid (XEP-0124 §14.3):
// as many as the client may have open at once.
func (s *session) keepLocked(rid uint64, b []byte) {
	if len(s.cache) >= s.requests {
		n := copy(s.cache, s.cache[len(s.cache)-s.requests+1:])
		clear(s.cache[n:])
		s.cache = s.cache[:n]
	}
	s.cache = append(s.cache, cached{rid: rid, body: b, at: s.h.now()})
}

// finishLocked removes the answered r and lets the next held request look.
func (s *session) finishLocked(r *request) {
	s.lastResp = max(s.lastResp, r.rid)
	s.removeHeldLocked(r)
	s.armIdleLocked()
	s.signalLocked()
}

func (s *session) removeHeldLocked(r *request) {
	for i, o := range s.held {
		if o == r {
			s.held = append(s.held[:i], s.held[i+1:]...)
			s.held = s.held[:len(s.held):len(s.held)]
			return
		}
	}
}

func (s *session) removeEarlyLocked(r *request) {
	for i, o := range s.early {
		if o == r {
			s.early = append(s.early[:i], s.early[i+1:]...)
			return
		}
	}
}

// grantLocked gives the turn to the early request that comes next.
func (s *session) grantLocked() {
	if s.busy {
		return
	}
	for _, r := range s.early {
		if r.rid == s.rcvd+1 && !r.granted {
			r.granted = true
			wakeEarly(r)
		}
	}
}

func wakeEarly(r *request) {
	if r.turn != nil && !r.woken {
		r.woken = true
		close(r.turn)
	}
}

// armIdleLocked starts the inactivity period once nothing is open
// (XEP-0124 §10), or a pause if one was asked for.
func (s *session) armIdleLocked() {
	if s.ended || s.activeLocked() > 0 {
		return
	}
	d := s.inactivity
	if s.paused > 0 {
		d = s.paused
	}
	s.idleUntil = time.Now().Add(d)
	if s.timer == nil {
		s.timer = time.AfterFunc(d, s.onIdle)
	} else {
		s.timer.Reset(d)
	}
}

// onIdle ends a session whose client made no request within the
// inactivity period, without telling it (XEP-0124 §10): its next request
// finds no session. What was waiting for it goes back to the senders
// (XEP-0206 §7).
func (s *session) onIdle() {
	s.mu.Lock()
	if s.ended || s.activeLocked() > 0 || time.Now().Before(s.idleUntil) {
		s.mu.Unlock()
		return
	}
	bounced := s.undeliveredLocked()
	s.endLocked(terminateBody(condItemNotFound, ""), httpStatus(condItemNotFound, s.legacy))
	bs := s.bs
	s.mu.Unlock()
	if bs != nil {
		sendBounces(bs, bounced)
		bs.End(&bridge.CloseError{Reason: bridge.ReasonConnectionTimeout, Text: "no BOSH request within the inactivity period"})
	}
}

// endLocked ends the session: the handler forgets it, and requests still
// open get body.
func (s *session) endLocked(body []byte, status int) {
	if s.ended {
		return
	}
	s.ended = true
	s.endBody, s.endStatus = body, status
	if s.timer != nil {
		s.timer.Stop()
	}
	s.cache = nil
	s.h.forget(s)
	s.signalLocked()
	for _, r := range s.early {
		wakeEarly(r)
	}
}

// fail ends the session for a terminal condition a request caused, and
// returns the HTTP status to answer it with.
func (s *session) fail(e *bindError) int {
	s.mu.Lock()
	_, status, _ := s.failUnlock(e)
	return status
}

// failUnlock is fail with s.mu held; it unlocks. The other requests open
// at the time hear that another request ended the session (XEP-0124 §17.2
// other-request).
func (s *session) failUnlock(e *bindError) ([]byte, int, *bindError) {
	body := terminateBody(e.cond(), "")
	status := httpStatus(e.cond(), s.legacy)
	var bounced [][]byte
	if !s.ended {
		bounced = s.undeliveredLocked()
	}
	s.endLocked(terminateBody(condOtherRequest, ""), http.StatusOK)
	bs := s.bs
	s.mu.Unlock()
	if bs != nil {
		sendBounces(bs, bounced)
		bs.End(&bridge.CloseError{Reason: e.reason, Text: e.text})
	}
	return body, status, e
}

// shutdownUnlock ends the session with system-shutdown; it unlocks.
func (s *session) shutdownUnlock() ([]byte, int, *bindError) {
	body := terminateBody(condSystemShutdown, "")
	s.endLocked(body, http.StatusOK)
	bs := s.bs
	s.mu.Unlock()
	if bs != nil {
		bs.End(&bridge.CloseError{Reason: bridge.ReasonShutdown})
	}
	return body, http.StatusOK, nil
}

// shutdown is Handler.Shutdown's part for one session: the bridge session
// ends with system-shutdown, which held requests then report; a session
// holding no request ends here.
func (s *session) shutdown() {
	s.mu.Lock()
	if !s.ended && s.activeLocked() == 0 {
		s.endLocked(terminateBody(condSystemShutdown, ""), http.StatusOK)
	}
	bs := s.bs
	s.mu.Unlock()
	if bs != nil {
		bs.End(&bridge.CloseError{Reason: bridge.ReasonShutdown})
	}
}
