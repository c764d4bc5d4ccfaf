package bridge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// Transport is what a browser-facing transport gives a session: how the
// session tells it things. The session calls these methods from its own
// goroutines only — the reader's, or one the Hub starts for the purpose —
// never from within a call the transport made (Open, Send, Restart, End),
// so a transport may make those calls holding its own locks, and its
// methods may take them.
type Transport interface {
	// Attach is called once, by Hub.Open before it returns and before any
	// Wake, with the session Open is making: the transport knows its
	// session before it is told anything about it. (When Open fails, the
	// session holds a header and its end.)
	Attach(s *Session)
	// Wake says items are waiting: the transport calls Pull until it
	// returns nothing, after which the next item wakes it again. Wake must
	// not block; it is not called concurrently with itself.
	Wake()
}

// OpenRequest is what the browser asked for when it opened its stream.
type OpenRequest struct {
	// To is the XMPP domain; required.
	To string
	// From is the optional 'from' of the browser's stream header.
	From string
	// Lang is the browser's xml:lang, passed upstream.
	Lang string
	// Client is the address of the browser (host:port, as
	// http.Request.RemoteAddr has it once the real client is known), for
	// Config.Limits and logs. Empty: the one WithClient put in Open's
	// context, if any.
	Client string
	// Login, when set, makes the session bridge-authenticated: the bridge
	// logs in upstream with these credentials (SASL and resource binding,
	// xmppclient.Login) and the session starts with the bound stream, so
	// the browser never negotiates. Nil means relayed mode: the browser
	// sees the server's stream features and authenticates itself.
	Login *xmppclient.Credentials
	// StreamManagement, with Login, has the bridge do XEP-0198 itself
	// (xmppclient.Config.StreamManagement): the transport says what the
	// browser handled (Session.Handled), items carry the stanzas' numbers
	// and the server's acknowledgements (EventAcked), and a link that
	// breaks is resumed in place, unseen by the browser, when the server
	// allows it and the login was SCRAM (whose secret stands for the
	// password; the password is not kept).
	StreamManagement bool
	// Resume, with Login, continues the server's XEP-0198 session it names
	// instead of logging in anew: a session another bridge process had.
	// Login's Secret (or Password) authenticates.
	Resume *xmppclient.Resumption
}

// Session is one browser user's bridged stream.
type Session struct {
	hub *Hub
	t   Transport
	id  uint64
	ctr *counters // its transport's, in the Hub's stats
	q   queue

	mu     sync.Mutex
	up     *xmppclient.Conn
	moved  chan struct{} // closed when up is replaced or the session ends
	ending *CloseError   // the first reason the session was given to end

	// resume is how to resume the upstream stream when its link breaks,
	// for a session whose stream management the bridge does; nil else.
	resume    *resumeWith
	resumedAt time.Time // the latest resume in place

	auth authState // its client, and its login (guard.go)
}

// resumeWith is what resuming a session's upstream stream takes.
type resumeWith struct {
	cfg  xmppclient.Config
	cred xmppclient.Credentials // Username, Resource and Secret: no password
}

// ID is the session's number, unique within its Hub, for logs.
func (s *Session) ID() uint64 { return s.id }

// Pull hands over every item waiting for the browser, in the queue's own
// array, with no copy. When nothing is waiting it returns nil, and the
// session will call Wake when something arrives.
func (s *Session) Pull() []Item { return s.q.pull() }

// Release hands back a batch returned by Pull once it has been used, so its
// array can serve the next batch. Optional.
func (s *Session) Release(items []Item) { release(items) }

// Send writes one element from the browser to the server. The element must
// already be checked to be one well-formed element. A write failure ends
// the session — unless the bridge does the session's stream management and
// can resume the stream: then the link is closed, the reader resumes it,
// and the element goes on the resumed stream (sent again by the resume if
// the failed stream had kept it, else by Send once the resume is done).
func (s *Session) Send(elem []byte) error {
	if s.sendingAuth(elem) {
		return nil // answered by the bridge (guard.go)
	}
	s.ctr.in(len(elem))
	for retried := false; ; retried = true {
		s.mu.Lock()
		up, moved, resumable := s.up, s.moved, s.resume != nil && s.ending == nil
		s.mu.Unlock()
		if up == nil {
			return errors.New("bridge: session has no upstream stream")
		}
		kept, err := up.WriteKept(elem)
		switch {
		case err == nil:
			return nil
		case resumable && up.SM().ID != "" && !retried:
			_ = up.Close() // the reader sees it and resumes
			if kept {
				return nil
			}
			<-moved
			continue
		}
		s.End(&CloseError{Reason: ReasonUpstreamFailed, Err: err})
		return fmt.Errorf("bridge: send: %w", err)
	}
}

// Handled says that the browser has handled the stanzas from the server up
// to number h (Item.Event.Seq), on a session whose stream management the
// bridge does: the server is told, and keeps only those after for a
// resume. It writes to the server: call it without the transport's locks.
func (s *Session) Handled(h uint64) {
	if up := s.upstream(); up != nil {
		_ = up.Handled(h) // a failed write: the reader sees the link broken
	}
}

// SM is the state of the stream management the bridge does for the
// session (xmppclient.SMState); its zero value when it does none.
func (s *Session) SM() xmppclient.SMState {
	if up := s.upstream(); up != nil {
		return up.SM()
	}
	return xmppclient.SMState{}
}

// Secret is what the session's SCRAM login derived from the password, for
// resuming the session in another process; nil when there is none.
func (s *Session) Secret() *xmppclient.Secret {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.resume == nil {
		return nil
	}
	return s.resume.cred.Secret
}

// Restart restarts the upstream stream after the browser restarted its own
// (after SASL). The server's new header comes out of Pull.
func (s *Session) Restart() error {
	up := s.upstream()
	if up == nil {
		return errors.New("bridge: session has no upstream stream")
	}
	if err := up.Restart(); err != nil {
		s.End(&CloseError{Reason: ReasonUpstreamFailed, Err: err})
		return fmt.Errorf("bridge: restart: %w", err)
	}
	return nil
}

// Resumable reports whether the upstream stream has XEP-0198 stream
// management with resumption: a server keeps such a session for its
// client to resume when the connection drops, and sends again what was not
// acknowledged.
func (s *Session) Resumable() bool {
	up := s.upstream()
	return up != nil && up.Resumable()
}

// JID is the full JID the bridge bound for a bridge-authenticated session,
// or "".
func (s *Session) JID() string {
	if up := s.upstream(); up != nil {
		return up.JID()
	}
	return ""
}

// End ends the session. Only the first call counts. With ReasonNormal the
// browser closed its stream: the server is asked to close too and the final
// item follows its answer (or a timeout). ReasonGone drops whatever was
// waiting, since nobody will read it; ReasonSlowConsumer drops it because
// that is the problem; any other reason is queued after what is waiting.
//
// The upstream stream ends the way the browser's did. A browser that
// vanished (ReasonGone, ReasonConnectionTimeout) gets its upstream
// connection closed without a stream close, as the server would see it
// had the browser been connected to it directly: a server that has a
// resumable XEP-0198 session keeps it for the browser to resume, through
// this bridge or another. So does a bridge that shuts down
// (ReasonShutdown) for a stream that enabled resumption. Every other end
// closes the stream cleanly.
func (s *Session) End(e *CloseError) {
	s.mu.Lock()
	if s.ending != nil {
		s.mu.Unlock()
		return
	}
	s.ending = e
	up := s.up
	s.movedLocked()
	s.mu.Unlock()

	switch e.Reason {
	case ReasonNormal:
		if up == nil {
			s.endQueueFor(e, false)
		}
	case ReasonGone, ReasonSlowConsumer:
		s.endQueueFor(e, true)
	default:
		s.endQueueFor(e, false)
	}
	if up != nil {
		s.closeUpstream(e, up)
	}
}

// closeUpstream ends the upstream stream the way the session ended.
func (s *Session) closeUpstream(e *CloseError, up *xmppclient.Conn) {
	if abrupt(e.Reason, up) {
		// The reader goroutine sees the connection closed and finishes
		// the session.
		_ = up.Close()
		return
	}
	// The reader goroutine sees the server's answer, or the deadline
	// CloseStream sets, and finishes the session.
	_ = up.CloseStream()
}

// abrupt reports whether a session ending for reason leaves its upstream
// stream unclosed, for the server to keep for a resumption.
func abrupt(reason Reason, up *xmppclient.Conn) bool {
	switch reason {
	case ReasonGone, ReasonConnectionTimeout:
		return true
	case ReasonShutdown:
		return up.Resumable()
	}
	return false
}

// movedLocked wakes whoever waits for the upstream stream to change.
func (s *Session) movedLocked() {
	if s.moved != nil {
		close(s.moved)
	}
	s.moved = make(chan struct{})
}

func (s *Session) upstream() *xmppclient.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.up
}

// push queues an item from the reader goroutine, which wakes the
// transport itself.
func (s *Session) push(it Item) bool {
	wake, ok := s.q.push(it)
	if ok {
		s.ctr.out(&it)
	}
	if wake {
		s.t.Wake()
	}
	return ok
}

// pushFor queues an item on behalf of a call the transport made (Open):
// the transport is woken from a goroutine of the Hub's.
func (s *Session) pushFor(it Item) {
	if wake, _ := s.q.push(it); wake {
		s.wakeLater()
	}
}

// endQueue queues the session's end from the reader goroutine.
func (s *Session) endQueue(e *CloseError, discard bool) {
	if wake, _ := s.q.end(e, discard); wake {
		s.t.Wake()
	}
}

// endQueueFor queues the end on behalf of a call the transport made
// (End, Send, Restart, Open).
func (s *Session) endQueueFor(e *CloseError, discard bool) {
	if wake, _ := s.q.end(e, discard); wake {
		s.wakeLater()
	}
}

// wakeLater wakes the transport from a goroutine of its own, never from
// within the transport's own call. It is not counted for Shutdown: Wake
// does not block, so it ends as soon as it has run.
func (s *Session) wakeLater() { go s.t.Wake() }

// readLoop carries everything the server sends into the queue until the
// upstream stream ends. It never blocks on the browser. Whenever the server
// has nothing more to say, it leaves the wait to a fresh goroutine
// (awaitUpstream) and returns: the fresh goroutine's stack is still small,
// while this one's has grown on the way through Next, and an idle session
// keeps the stack of whatever goroutine waits for its server. ready says the
// socket is known to be readable: read before waiting again.
//
// It runs on a goroutine counted in the Hub's wait group, and so does every
// goroutine it hands over to; each one's count ends when it returns.
func (s *Session) readLoop(up *xmppclient.Conn, ready bool) {
	defer s.hub.wg.Done()
	var end *CloseError
	for {
		if !ready && up.Drained() {
			s.hub.wg.Add(1)
			go s.awaitUpstream(up)
			return
		}
		ready = false
		ev, err := up.Next()
		if err != nil {
			if next := s.resumeUpstream(up); next != nil {
				up = next
				continue
			}
			end = upstreamEnd(err)
			break
		}
		if ev.Kind == xmppclient.EventEnd {
			end = &CloseError{Reason: ReasonUpstreamClosed}
			break
		}
		if ev.Fault != nil {
			// One odd element, likely from another user through the
			// server, ends nothing: it comes repaired, or not at all.
			s.hub.fault(s, &ev)
			if ev.Kind == xmppclient.EventDropped && ev.Seq == 0 {
				// Gone. (One the server numbered for stream management
				// the bridge does goes on, for the transport to count.)
				continue
			}
		}
		s.receivedAuth(&ev)
		if !s.push(Item{Event: ev}) && !s.q.isEnded() {
			// Overflow: end this session alone, keep reading until the
			// server answers our stream close.
			s.End(&CloseError{Reason: ReasonSlowConsumer, Text: "the browser is not reading fast enough"})
		}
	}
	_ = up.Close()

	s.mu.Lock()
	if s.ending == nil {
		s.ending = end
		// A Send waiting for a resume that did not come hears the end.
		s.movedLocked()
	}
	final := s.ending
	s.mu.Unlock()
	s.endQueue(final, false)
	s.hub.finished(s, final)
}

// resumeFor bounds how long a session tries to resume its upstream stream
// after the link broke (within what the server said it keeps it).
const resumeFor = time.Minute

// resumeAgainAfter is how long after a resume in place a broken link is
// not resumed again but ends the session. A server closes the connection
// of a session that another connection resumed exactly as a broken link
// closes, so two bridge processes that both hold a session (its page went
// to the other) would otherwise take it from each other for ever.
const resumeAgainAfter = 10 * time.Second

// resumeUpstream resumes the upstream stream whose link broke, on the
// reader, for a session whose stream management the bridge does: every
// stanza read is already queued, so it asks the server for what came
// after, and the stanzas of ours it did not acknowledge go again. It
// returns the new stream, or nil when the session must end instead.
func (s *Session) resumeUpstream(old *xmppclient.Conn) *xmppclient.Conn {
	s.mu.Lock()
	rw, ending, moved, last := s.resume, s.ending != nil, s.moved, s.resumedAt
	s.mu.Unlock()
	st := old.SM()
	if rw == nil || ending || st.ID == "" || time.Since(last) < resumeAgainAfter {
		return nil
	}
	// moved closes when the session ends: that cuts an attempt short.
	_ = old.Close()
	r := xmppclient.ResumptionOf(old)
	window := resumeFor
	if st.Max > 0 {
		window = min(window, st.Max)
	}
	deadline := time.Now().Add(window)
	for wait := time.Second; ; wait *= 2 {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		go func() {
			select {
			case <-moved:
				cancel()
			case <-ctx.Done():
			}
		}()
		up, err := xmppclient.Resume(ctx, rw.cfg, rw.cred, r)
		cancel()
		if err == nil {
			s.hub.resumed.Add(1)
			s.mu.Lock()
			s.resumedAt = time.Now()
			if s.ending == nil {
				s.up = up
				s.movedLocked()
				s.mu.Unlock()
				return up
			}
			// Ended meanwhile: end the new stream the way the session
			// ended.
			s.up = up
			e := s.ending
			s.movedLocked()
			s.mu.Unlock()
			s.closeUpstream(e, up)
			return up
		}
		var xe *xmppclient.Error
		final := errors.Is(err, xmppclient.ErrResumeFailed) || errors.As(err, &xe) && xe.SASL
		s.mu.Lock()
		ending = s.ending != nil
		s.mu.Unlock()
		if final || ending || time.Now().Add(wait).After(deadline) {
			s.hub.resumeFailed.Add(1)
			return nil
		}
		select {
		case <-moved:
		case <-time.After(wait):
		}
	}
}

// awaitUpstream waits, on a goroutine of its own, for the server to send
// more, then reads it.
func (s *Session) awaitUpstream(up *xmppclient.Conn) {
	up.Await()
	s.readLoop(up, true)
}

// upstreamEnd turns a failure of an established upstream stream into a
// reason. The server's fault is not the browser's: whatever the cause, the
// browser hears that the remote connection failed; the log gets the cause.
func upstreamEnd(err error) *CloseError {
	return &CloseError{Reason: ReasonUpstreamFailed, Err: err}
}

// dialEnd turns a failure to open the upstream stream into a reason,
// relaying a condition the server itself gave.
func dialEnd(err error) *CloseError {
	var xe *xmppclient.Error
	if !errors.As(err, &xe) {
		return &CloseError{Reason: ReasonRemoteConnectionFailed, Err: err}
	}
	if xe.SASL {
		return &CloseError{Reason: ReasonNotAuthorized, Text: xe.Text, Err: err}
	}
	switch xe.Cond {
	case "host-unknown":
		return &CloseError{Reason: ReasonHostUnknown, Text: xe.Text, Err: err}
	case "remote-connection-failed", "":
		return &CloseError{Reason: ReasonRemoteConnectionFailed, Text: xe.Text, Err: err}
	}
	return &CloseError{Reason: ReasonRemoteConnectionFailed, Condition: xe.Cond, Text: xe.Text, Err: err}
}
