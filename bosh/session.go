package bosh

import (
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/httphold"
	"github.com/xmppbridge/xmppbridge/internal/longpoll"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// reportAfter is how long ago a response must have been sent before a
// client's ack that misses it is reported (XEP-0124 §9.2): younger ones are
// most likely still on their way.
const reportAfter = time.Second

// session is one BOSH session: its request engine (the rid window, the
// requests held, the answers kept, inactivity: package longpoll), its
// bridge session, and what BOSH adds: <body/> framing, acknowledgements,
// the key sequence and the request-frequency rules. It is the engine's
// Content; the engine's lock guards the fields below it.
type session struct {
	h   *Handler
	sid string
	lp  *longpoll.Session

	// Fixed when the session is created.
	polling        time.Duration
	pollingSession bool          // wait or hold is zero (XEP-0124 §12)
	maxPause       time.Duration // zero: no pausing
	legacy         bool          // no 'ver' in the creation request
	acks           bool          // the client acknowledges responses (ack='1')
	content        string        // Content-Type of responses; "" the default
	overTLS        bool          // created over TLS (XEP-0124 §19.1)

	// Guarded by lp's lock.
	bs          *bridge.Session
	create      *creation // the creation response's attributes, until it is sent
	out         []bridge.Item
	lastResp    uint64 // highest rid answered
	key         string // what the next request's key must hash to (XEP-0124 §15)
	terminating bool   // the client asked to terminate (XEP-0124 §13)
	report      uint64 // rid of a response the client seems to have missed
	reportAt    time.Time
	sentAt      map[uint64]time.Time // when kept answers went out, for report

	// The request-frequency rules (XEP-0124 §11, §12).
	lastNew           time.Time // arrival of the latest new request
	maxRID            uint64    // highest rid taken, in order or not
	prevRID           uint64    // the latest new request
	prevEmpty         bool
	prevAnswered      bool
	prevAnsweredEmpty bool

	// How the session ends, for Ended: the bridge session's reason and the
	// stanzas the client never got, to bounce (XEP-0206 §7).
	ending  *bridge.CloseError
	bounced [][]byte
}

// request is what BOSH keeps of one request while the engine has it.
type request struct {
	rb        *body // payloads dropped once taken
	create    bool
	terminate bool
	gzip      bool       // the client accepts gzip
	refused   *bindError // turned away with a condition it caused, for OnReject
}

func reqOf(r *longpoll.Request) *request { return r.Data.(*request) }

// Attach implements bridge.Transport: the session's bridge session,
// before it says anything.
func (s *session) Attach(bs *bridge.Session) {
	s.lp.Lock()
	s.bs = bs
	s.lp.Unlock()
}

// Wake implements bridge.Transport: the engine looks at the queue again.
func (s *session) Wake() { s.lp.Poke() }

// Admit applies the request-frequency rules (XEP-0124 §11, §12) to a new
// request.
func (s *session) Admit(r *longpoll.Request, open int) *longpoll.Answer {
	rb := reqOf(r).rb
	now := s.h.now()
	if e := s.overactiveLocked(rb, open, now); e != nil {
		return s.failLocked(r, e)
	}
	s.lastNew, s.prevRID, s.prevEmpty, s.prevAnswered = now, rb.rid, rb.empty(), false
	s.maxRID = max(s.maxRID, rb.rid)
	return nil
}

// overactiveLocked applies XEP-0124 §11 and §12 to a new request, with
// open requests open before it.
func (s *session) overactiveLocked(rb *body, open int, now time.Time) *bindError {
	open++
	requests := s.lp.Params().Requests
	special := rb.hasPause || rb.typ == "terminate"
	since := now.Sub(s.lastNew)
	switch {
	case open > requests+1 || open > requests && !special:
		return &bindError{reason: bridge.ReasonPolicyViolation,
			text: "more than " + strconv.Itoa(requests) + " requests open at once"}
	case !s.pollingSession && open == requests && rb.empty() && rb.rid > s.maxRID && since < s.polling:
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

// Turn checks what must be checked in rid order: the key sequence
// (XEP-0124 §15) and the pause asked for (§10); then it applies the
// client's acknowledgement (§9.2).
func (s *session) Turn(r *longpoll.Request) *longpoll.Answer {
	rb := reqOf(r).rb
	if e := s.checkKeyLocked(rb); e != nil {
		return s.failLocked(r, e)
	}
	if r.Pause > 0 && (s.maxPause <= 0 || r.Pause > s.maxPause) {
		return s.failLocked(r, &bindError{reason: bridge.ReasonPolicyViolation, text: "pause longer than maxpause"})
	}
	s.acksLocked(rb)
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
// §9.2): acknowledged responses are no longer kept, and a response the
// client seems to have missed is reported in the next response, sent at
// once.
func (s *session) acksLocked(rb *body) {
	if !s.acks {
		return
	}
	ack := rb.rid - 1 // no ack: every earlier response arrived
	if rb.hasAck {
		ack = rb.ack
	}
	s.lp.ForgetLocked(ack)
	for rid := range s.sentAt {
		if rid <= ack {
			delete(s.sentAt, rid)
		}
	}
	oldest, ok := s.lp.KeptLocked()
	if ack < s.lastResp && ok && oldest == ack+1 && s.h.now().Sub(s.sentAt[oldest]) >= reportAfter {
		s.report, s.reportAt = ack+1, s.sentAt[oldest]
		s.lp.ForceLocked()
	}
}

// Take forwards the request's payloads upstream, or restarts the stream
// (XEP-0206 §5: payloads in a restart request are ignored). A failure ends
// the bridge session, whose end the held requests then report.
func (s *session) Take(r *longpoll.Request) {
	q := reqOf(r)
	bs := s.bs
	if q.rb.restart {
		_ = bs.Restart()
	} else {
		for _, p := range q.rb.payloads {
			if bs.Send(p) != nil {
				break
			}
		}
	}
	q.rb.payloads = nil // sent: a held request keeps none of them
	if q.terminate {
		s.lp.Lock()
		s.terminating = true
		r.Now = true
		s.lp.Unlock()
	}
}

// Taken closes the stream for a terminate (XEP-0124 §13), once the request
// is held: the end this brings is the client's, answered to it.
func (s *session) Taken(r *longpoll.Request) {
	if reqOf(r).terminate {
		s.bs.End(&bridge.CloseError{Reason: bridge.ReasonNormal})
	}
}

// Resent leaves a resend to the engine: the answer kept, or the copy
// still held (XEP-0124 §14.3).
func (s *session) Resent(*longpoll.Request) (*longpoll.Answer, bool) { return nil, false }

// Ready says whether the oldest request held should be answered: the
// server sent something (a stream header alone is not enough), the session
// ended, the client terminates, or a missed response is to be reported.
func (s *session) Ready(*longpoll.Request) bool {
	if s.terminating || s.report != 0 {
		return true
	}
	s.pullLocked()
	return hasPayload(s.out)
}

// pullLocked takes everything the bridge session has queued.
func (s *session) pullLocked() {
	if s.bs == nil {
		return
	}
	for {
		got := s.bs.Pull()
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

// Answer builds the response to the oldest request held: what the server
// sent, or the session's end.
func (s *session) Answer(r *longpoll.Request) longpoll.Answer {
	q := reqOf(r)
	if r.Pause > 0 {
		// No payloads in the answer to a pause (XEP-0124 §10), and it is
		// not kept for a resend (§14.3).
		b := s.appendAcks(appendBodyStart(make([]byte, 0, 96)), r.RID, false)
		b = append(b, "/>"...)
		s.lastResp = max(s.lastResp, r.RID)
		return longpoll.Answer{Response: s.response(http.StatusOK, b, q.gzip)}
	}
	s.pullLocked()
	b, status, cond, uri, payloads, end := s.respondLocked(r.RID, q.create)
	resp := s.response(status, b, q.gzip)
	if !end {
		if r.RID == s.prevRID {
			s.prevAnswered, s.prevAnsweredEmpty = true, payloads == 0
		}
		s.lastResp = max(s.lastResp, r.RID)
		if s.acks {
			if s.sentAt == nil {
				s.sentAt = make(map[uint64]time.Time)
			}
			s.sentAt[r.RID] = s.h.now()
		}
		return longpoll.Answer{Response: resp, Keep: true}
	}
	// The oldest request carries the end; the others get an empty body
	// after the client's own terminate (XEP-0124 §13), else the same
	// condition.
	rest := terminateBody(cond, uri)
	if s.terminating && cond == "" {
		rest = emptyBody
	}
	return longpoll.Answer{Response: resp, End: true, Rest: s.response(status, rest, false)}
}

// respondLocked builds a response from what was pulled. end is set when
// the response ends the session; then cond is its terminal condition
// ("" for a plain terminate).
func (s *session) respondLocked(rid uint64, create bool) (b []byte, status int, cond, uri string, payloads int, end bool) {
	// Find where the stream ends (a stream error or the session's end):
	// nothing after that goes out.
	cut := len(s.out)
	var endItem *bridge.CloseError
	var streamErr *bridge.Item
	size, streamPrefix := 0, false
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

	var built []byte // a <stream:error/> or <uri/> of our own
	end = true
	switch {
	case streamErr != nil:
		// XEP-0206 §6: the server's stream error, in a terminate body.
		cond = condRemoteStreamError
		s.ending = &bridge.CloseError{Reason: bridge.ReasonUpstreamClosed}
	case endItem != nil && endItem.Reason == bridge.ReasonShutdown && s.h.cfg.DrainURI != "":
		// A drain with somewhere to go: the client moves there (and
		// resumes, where its stream allows).
		cond, uri = condSeeOtherURI, s.h.cfg.DrainURI
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
		end = false
	}

	b = make([]byte, 0, size+len(built)+512)
	b = appendBodyStart(b)
	if streamPrefix || built != nil || cond == condRemoteStreamError {
		b = append(b, " xmlns:stream='"+nsStream+"'"...)
	}
	if end {
		b = append(b, " type='terminate'"...)
		b = xmlsplit.AppendAttr(b, "condition", cond)
	} else if s.create != nil && create {
		b = appendCreationAttrs(b, s.create)
	}
	b = s.appendAcks(b, rid, create)
	if payloads == 0 && streamErr == nil && built == nil && (cond != condSeeOtherURI || uri == "") {
		b = append(b, "/>"...)
	} else {
		b = append(b, '>')
		for i := range s.out[:cut] {
			if it := &s.out[i]; it.Kind == xmppclient.EventElement {
				b = it.AppendStandalone(b)
			}
		}
		if streamErr != nil {
			b = streamErr.AppendStandalone(b)
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
	if create {
		s.create = nil
	}
	return b, httpStatus(cond, s.legacy), cond, uri, payloads, end
}

// appendAcks appends the request acknowledgement (XEP-0124 §9.1: the
// highest rid taken, when higher than the one answered) and a report of a
// missed response (§9.2).
func (s *session) appendAcks(b []byte, rid uint64, create bool) []byte {
	if rcvd := s.lp.RIDLocked(); !create && rcvd > rid {
		b = xmlsplit.AppendAttr(b, "ack", strconv.FormatUint(rcvd, 10))
	}
	if s.report != 0 {
		b = xmlsplit.AppendAttr(b, "report", strconv.FormatUint(s.report, 10))
		b = xmlsplit.AppendAttr(b, "time", strconv.FormatInt(s.h.now().Sub(s.reportAt).Milliseconds(), 10))
		s.report = 0
	}
	return b
}

// Refused answers what the engine turns away: a rid outside the window or
// no longer kept is item-not-found, ending the session (XEP-0124 §14.3);
// a request that waited in vain for the ones before it, or that was sent
// again before its turn, gets the recoverable condition (§17.3), after
// which the client resends what it has no answer to.
func (s *session) Refused(r *longpoll.Request, why longpoll.Why) longpoll.Answer {
	switch why {
	case longpoll.WhyWindow:
		return *s.failLocked(r, &bindError{reason: bridge.ReasonItemNotFound, text: "rid outside the window"})
	case longpoll.WhyNotKept:
		return *s.failLocked(r, &bindError{reason: bridge.ReasonItemNotFound,
			text: "no response kept for rid " + strconv.FormatUint(r.RID, 10)})
	case longpoll.WhyEnded:
		e := &bindError{reason: bridge.ReasonItemNotFound, text: "session ended"}
		reqOf(r).refused = e
		return longpoll.Answer{Response: s.response(httpStatus(condItemNotFound, s.legacy), terminateBody(condItemNotFound, ""), false)}
	}
	return longpoll.Answer{Response: s.response(http.StatusOK, errorBody, false)}
}

// failLocked answers r with a terminal condition it caused, which ends the
// session (XEP-0124 §17.2); the other requests open hear that another
// request ended it (other-request), and what the client never got goes
// back to its senders (XEP-0206 §7).
func (s *session) failLocked(r *longpoll.Request, e *bindError) *longpoll.Answer {
	reqOf(r).refused = e
	s.endingLocked(&bridge.CloseError{Reason: e.reason, Text: e.text})
	return &longpoll.Answer{
		Response: s.response(httpStatus(e.cond(), s.legacy), terminateBody(e.cond(), ""), false),
		End:      true,
		Rest:     s.response(http.StatusOK, terminateBody(condOtherRequest, ""), false),
	}
}

// endingLocked records why the session ends, and what to bounce, for
// Ended. Nothing is bounced from a stream the server keeps for a
// resumption (XEP-0198): it sends again what the client did not
// acknowledge, to the client that resumes.
func (s *session) endingLocked(e *bridge.CloseError) {
	if s.ending == nil {
		s.ending = e
		if s.bs == nil || !s.bs.Resumable() {
			s.bounced = s.undeliveredLocked()
		}
	}
}

// Idle ends a session whose client made no request within the inactivity
// period, without telling it (XEP-0124 §10): its next request finds no
// session. What was waiting for it goes back to the senders (XEP-0206 §7).
func (s *session) Idle() {
	s.lp.Lock()
	if !s.lp.EndedLocked() {
		s.endingLocked(&bridge.CloseError{Reason: bridge.ReasonConnectionTimeout, Text: "no BOSH request within the inactivity period"})
		s.lp.EndLocked(s.response(httpStatus(condItemNotFound, s.legacy), terminateBody(condItemNotFound, ""), false))
	}
	s.lp.Unlock()
}

// Ended lets go of an ended session: the handler forgets it, and the bridge
// session ends (the first reason it is given counts), after the bounces.
func (s *session) Ended() {
	s.lp.Lock()
	bs, ending, bounced := s.bs, s.ending, s.bounced
	s.bounced = nil
	s.lp.Unlock()
	s.h.forget(s)
	if bs == nil {
		return
	}
	sendBounces(bs, bounced)
	if ending != nil {
		bs.End(ending)
	}
}

// response is an answer with BOSH's headers, gzipped when the client
// accepts it and it is worth it.
func (s *session) response(status int, body []byte, gzip bool) httphold.Response {
	return s.h.response(status, body, s.content, gzip)
}

// fail ends the session for a terminal condition a request caused before
// reaching the engine, and returns the answer to that request.
func (s *session) fail(e *bindError) httphold.Response {
	s.lp.Lock()
	s.endingLocked(&bridge.CloseError{Reason: e.reason, Text: e.text})
	s.lp.EndLocked(s.response(http.StatusOK, terminateBody(condOtherRequest, ""), false))
	s.lp.Unlock()
	return s.response(httpStatus(e.cond(), s.legacy), terminateBody(e.cond(), ""), false)
}

// shutdown is Handler.Shutdown's part for one session: the bridge session
// ends with system-shutdown, which held requests then report; a session
// holding no request ends here. With now, everything open is answered
// with system-shutdown at once.
func (s *session) shutdown(now bool) {
	s.lp.Lock()
	if !s.lp.EndedLocked() && (now || s.lp.OpenLocked() == 0) {
		s.endingLocked(&bridge.CloseError{Reason: bridge.ReasonShutdown})
		s.bounced = nil
		s.lp.EndLocked(s.response(http.StatusOK, s.h.shutdownBody(), false))
	}
	bs := s.bs
	s.lp.Unlock()
	if bs != nil {
		bs.End(&bridge.CloseError{Reason: bridge.ReasonShutdown})
	}
}
