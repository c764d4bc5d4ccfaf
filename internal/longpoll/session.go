package longpoll

import (
	"sync"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/httphold"
)

// Params are a session's rules, fixed when it is created (XEP-0124 §7.2).
type Params struct {
	// Wait is the longest a request is held before it is answered empty.
	Wait time.Duration
	// Hold is the most requests held at once; a newer one releases the
	// oldest.
	Hold int
	// Requests is the rid window: a request may be at most this far ahead
	// of the last one taken, and as many answers are kept for resends.
	Requests int
	// Inactivity is how long a session may go without a request open
	// before it ends (Content.Idle).
	Inactivity time.Duration
	// Gap is how long a request ahead of its turn waits for the ones before
	// it before it is refused (WhyTurn). Zero means Wait, or a second when
	// Wait is zero.
	Gap time.Duration
}

// Content is what a transport gives its sessions.
type Content interface {
	// Admit checks a new request (not a resend of a rid already taken)
	// when it arrives, with open the number of requests open before it;
	// nil accepts it. A refusal answers it (and may end the session).
	Admit(r *Request, open int) *Answer
	// Turn is called when r's turn comes, in rid order, before Take (a key
	// sequence, acknowledgements); nil lets it be taken.
	Turn(r *Request) *Answer
	// Take forwards r's payloads upstream. The lock is not held: it may
	// block, and it may call into the session (End, Poke).
	Take(r *Request)
	// Taken is called, without the lock, once r is held (or answered,
	// when Immediate): what must follow its being held, such as closing
	// the stream for a terminate.
	Taken(r *Request)
	// Resent is asked first about a request whose rid was taken before:
	// it may answer it (a non-nil Answer), have it held again without
	// taking it (hold, for a transport that builds a resend's answer
	// afresh), or leave it to the engine (the answer kept, or the copy
	// still held, XEP-0124 §14.3).
	Resent(r *Request) (a *Answer, hold bool)
	// Ready reports whether r, the oldest request held, should be answered
	// now, though its wait has not run out.
	Ready(r *Request) bool
	// Answer builds the answer to r, the oldest request held, or to an
	// Immediate request once taken.
	Answer(r *Request) Answer
	// Refused builds the answer to a request the engine turns away, and
	// says whether that ends the session.
	Refused(r *Request, why Why) Answer
	// Idle is called, without the lock, when the session has had no
	// request open for Params.Inactivity (or the pause asked for); the
	// session is over unless the transport says otherwise by calling
	// Touch.
	Idle()
	// Ended is called once, without the lock, after the session ended
	// (an Answer with End, or End).
	Ended()
}

// Why says why the engine turned a request away.
type Why uint8

const (
	// WhyWindow: the rid is beyond the window.
	WhyWindow Why = iota + 1
	// WhyNotKept: a resend of a rid whose answer is no longer kept.
	WhyNotKept
	// WhyBusy: a resend of the rid being taken at this moment.
	WhyBusy
	// WhyTurn: the requests before it did not arrive within Gap.
	WhyTurn
	// WhySuperseded: the client sent the same rid again; the newer copy
	// is answered instead.
	WhySuperseded
	// WhyEnded: the session is over (a request that arrived after its
	// end; those open at the end get the end's Rest).
	WhyEnded
)

// Answer is how a request is answered.
type Answer struct {
	Response httphold.Response
	// Keep keeps the answer for a resend of its rid.
	Keep bool
	// End ends the session: every other request open, and every later
	// one, gets Rest.
	End  bool
	Rest httphold.Response
}

// Reply is where a request's answer goes. Answer must not block.
type Reply interface {
	Answer(httphold.Response)
}

// Request is one request of a session.
type Request struct {
	RID uint64
	// Pause is a pause the request asks for (XEP-0124 §10): it and every
	// request held are answered at once, and the session may then go
	// without requests this long.
	Pause time.Duration
	// Now answers it as soon as it is the oldest held (a terminate, a
	// pause, a report).
	Now bool
	// Immediate answers it as soon as it is taken, whatever is held (a
	// post that carries nothing back).
	Immediate bool
	// Expired is set once its wait ran out or its client went away.
	Expired bool
	// Data is the transport's.
	Data any

	reply      Reply
	timer      *time.Timer
	granted    bool // early: its turn has come
	superseded bool
	done       bool // answered
}

type kept struct {
	rid  uint64
	resp httphold.Response
}

// Session is one session's request engine.
type Session struct {
	p Params
	c Content

	mu        sync.Mutex
	rcvd      uint64     // highest rid taken in order: every lower one was too
	busy      bool       // rid rcvd is being taken (Take runs)
	early     []*Request // ahead of their turn
	held      []*Request // taken and waiting for their answer, in rid order
	kept      []kept     // recent answers by rid, oldest first
	ended     bool
	told      bool              // Ended was called
	rest      httphold.Response // for the requests open at the end
	others    int               // consumers besides requests (event streams)
	pause     time.Duration     // the inactivity after the next request
	idle      *time.Timer
	idleAt    time.Time
	answering bool       // answerLocked runs
	again     bool       // it was called again meanwhile
	pending   []delivery // answers decided, to hand over after unlocking
	taken     []*Request // taken, for Taken after unlocking
}

type delivery struct {
	reply Reply
	resp  httphold.Response
}

// New returns a session whose creation request had rid first.
func New(p Params, c Content, first uint64) *Session {
	if p.Gap <= 0 {
		p.Gap = p.Wait
		if p.Gap <= 0 {
			p.Gap = time.Second
		}
	}
	return &Session{p: p, c: c, rcvd: first}
}

// Configure sets the session's rules and the rid of its creation request,
// for a transport that learns them after making the session; it must come
// before any request.
func (s *Session) Configure(p Params, first uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ns := New(p, s.c, first)
	s.p, s.rcvd = ns.p, first
}

// Restart begins the session anew for another connection of its client,
// whose requests count from first: every request open gets rest, nothing
// kept is kept, and the session is not over, whatever it was.
func (s *Session) Restart(p Params, first uint64, rest httphold.Response) {
	s.mu.Lock()
	for _, r := range append(s.held, s.early...) {
		s.answerWithLocked(r, Answer{Response: rest})
	}
	s.held, s.early, s.kept = nil, nil, nil
	ns := New(p, s.c, first)
	s.p, s.rcvd, s.busy = ns.p, first, false
	s.ended, s.told, s.pause = false, false, 0
	s.armIdleLocked()
	s.Unlock()
}

// Params returns the session's rules.
func (s *Session) Params() Params { return s.p }

// Lock takes the session's lock, which also guards the transport's state.
func (s *Session) Lock() { s.mu.Lock() }

// Unlock releases it, then hands over the answers decided meanwhile and
// tells the transport what happened (Taken, Ended).
func (s *Session) Unlock() {
	out, taken := s.pending, s.taken
	s.pending, s.taken = nil, nil
	ended := s.ended && !s.told
	s.told = s.told || ended
	s.mu.Unlock()
	for _, d := range out {
		d.reply.Answer(d.resp)
	}
	for _, r := range taken {
		s.c.Taken(r)
	}
	if ended {
		s.c.Ended()
	}
}

// RID is the highest rid taken in order.
func (s *Session) RID() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rcvd
}

// RIDLocked is RID with the lock held.
func (s *Session) RIDLocked() uint64 { return s.rcvd }

// OpenLocked is the number of requests open: taken and not answered, or
// waiting for their turn.
func (s *Session) OpenLocked() int {
	n := len(s.held) + len(s.early)
	if s.busy {
		n++
	}
	return n
}

// HeldLocked is the number of requests held.
func (s *Session) HeldLocked() int { return len(s.held) }

// EarlyLocked is the number of requests waiting for their turn.
func (s *Session) EarlyLocked() int { return len(s.early) }

// EndedLocked reports whether the session is over.
func (s *Session) EndedLocked() bool { return s.ended }

// Hold holds the session creation request, which has no payload to take:
// it is answered when Ready says so or its wait runs out.
func (s *Session) Hold(r *Request, reply Reply) {
	s.mu.Lock()
	r.reply = reply
	s.holdLocked(r)
	s.answerLocked()
	s.Unlock()
}

// Submit serves a request: a resend of a rid already taken is answered
// from what was kept; a new one waits for its turn, is taken (Take, on the
// calling goroutine, which may block) and is then held until its answer.
// Requests ahead of their turn wait without a goroutine; whoever takes the
// request before them takes them too.
func (s *Session) Submit(r *Request, reply Reply) {
	r.reply = reply
	s.mu.Lock()
	switch {
	case s.ended:
		s.refuseLocked(r, WhyEnded)
		s.Unlock()
		return
	case r.RID <= s.rcvd:
		s.resendLocked(r)
		s.Unlock()
		return
	case r.RID > s.rcvd+uint64(s.p.Requests):
		s.refuseLocked(r, WhyWindow)
		s.Unlock()
		return
	}
	superseding := false
	for i, old := range s.early {
		if old.RID == r.RID {
			// The same rid again before its turn: the newer copy waits
			// in its place (XEP-0124 §14.3).
			s.stopLocked(old)
			old.superseded = true
			s.refuseLocked(old, WhySuperseded)
			r.granted = old.granted
			s.early[i] = r
			superseding = true
			break
		}
	}
	if !superseding {
		if a := s.c.Admit(r, s.OpenLocked()); a != nil {
			s.answerWithLocked(r, *a)
			s.Unlock()
			return
		}
		s.pause = r.Pause
	}
	if r.RID != s.rcvd+1 || s.busy {
		if !superseding {
			s.early = append(s.early, r)
		}
		s.stopIdleLocked()
		r.timer = time.AfterFunc(s.p.Gap, func() { s.gapped(r) })
		s.Unlock()
		return
	}
	s.takeLoopLocked(r)
}

// takeLoopLocked takes r, then every early request whose turn that
// makes come, on this goroutine. It is called with the lock held and
// returns without it.
func (s *Session) takeLoopLocked(r *Request) {
	for r != nil {
		if a := s.c.Turn(r); a != nil {
			s.answerWithLocked(r, *a)
			if !s.ended {
				// Refused at its turn without ending the session: the
				// rid is not taken, and the requests after it wait on.
				s.armIdleLocked()
			}
			s.Unlock()
			return
		}
		s.busy, s.rcvd = true, r.RID
		s.stopIdleLocked()
		s.Unlock()

		s.c.Take(r)

		s.mu.Lock()
		s.busy = false
		s.taken = append(s.taken, r)
		if r.Immediate {
			if !s.ended {
				s.answerWithLocked(r, s.c.Answer(r))
			}
		} else {
			s.holdLocked(r)
		}
		r = s.nextTurnLocked()
		if r == nil {
			s.answerLocked()
			s.armIdleLocked()
		}
	}
	s.Unlock()
}

// nextTurnLocked takes the early request whose turn it is out of early.
func (s *Session) nextTurnLocked() *Request {
	if s.ended {
		return nil
	}
	for i, e := range s.early {
		if e.RID == s.rcvd+1 {
			s.stopLocked(e)
			s.early = append(s.early[:i], s.early[i+1:]...)
			return e
		}
	}
	return nil
}

// holdLocked holds a taken request until its answer.
func (s *Session) holdLocked(r *Request) {
	if s.ended {
		s.answerWithLocked(r, Answer{Response: s.rest})
		return
	}
	if r.Pause > 0 {
		// XEP-0124 §10: every request held is answered now, the pause
		// last.
		for _, o := range s.held {
			o.Now = true
		}
		r.Now = true
	}
	s.held = append(s.held, r)
	if !r.Now {
		r.timer = time.AfterFunc(s.p.Wait, func() { s.expire(r) })
	}
}

// gapped refuses an early request whose predecessors did not come in time.
func (s *Session) gapped(r *Request) {
	s.mu.Lock()
	for i, e := range s.early {
		if e == r {
			s.early = append(s.early[:i], s.early[i+1:]...)
			s.refuseLocked(r, WhyTurn)
			s.armIdleLocked()
			break
		}
	}
	s.Unlock()
}

// expire answers a held request whose wait ran out, when it is its turn.
func (s *Session) expire(r *Request) {
	s.mu.Lock()
	if !r.done {
		r.Expired = true
		s.answerLocked()
	}
	s.Unlock()
}

// Gone tells the session that r's client went away: it is answered when
// its turn comes, and its answer kept for a resend (XEP-0124 §14.3).
func (s *Session) Gone(r *Request) {
	s.mu.Lock()
	if !r.done {
		r.Expired = true
		s.answerLocked()
	}
	s.Unlock()
}

// Poke makes the session look again at what it holds: the transport has
// something for the client, or its end.
func (s *Session) Poke() {
	s.mu.Lock()
	s.answerLocked()
	s.Unlock()
}

// PokeLocked is Poke with the lock held.
func (s *Session) PokeLocked() { s.answerLocked() }

// ForceLocked answers every request held as soon as it is its turn, as
// for a report of a missed answer (XEP-0124 §9.2).
func (s *Session) ForceLocked() {
	for _, r := range s.held {
		r.Now = true
	}
}

// answerLocked answers the oldest held requests while they are due: over
// hold, marked Now, expired, or Ready. A transport that pokes the session
// from within Ready or Answer (what it builds an answer from made it look)
// is heard once the answer in hand is given, not in the middle of it.
func (s *Session) answerLocked() {
	if s.answering {
		s.again = true
		return
	}
	s.answering = true
	defer func() { s.answering = false }()
	for {
		s.again = false
		for len(s.held) > 0 && !s.ended {
			r := s.held[0]
			if !(len(s.held) > s.p.Hold || r.Now || r.Expired || s.c.Ready(r)) {
				break
			}
			s.answerWithLocked(r, s.c.Answer(r))
		}
		if !s.again {
			return
		}
	}
}

// answerWithLocked hands r its answer, keeps it if asked, and ends the
// session if the answer says so.
func (s *Session) answerWithLocked(r *Request, a Answer) {
	if r.done {
		return
	}
	r.done = true
	s.stopLocked(r)
	s.removeHeldLocked(r)
	if a.Keep && !s.ended {
		s.keepLocked(r.RID, a.Response)
	}
	if r.reply != nil {
		s.pending = append(s.pending, delivery{r.reply, a.Response})
	}
	if a.End {
		s.endLocked(a.Rest)
	}
	s.armIdleLocked()
}

// refuseLocked answers r as the transport says for why.
func (s *Session) refuseLocked(r *Request, why Why) {
	s.answerWithLocked(r, s.c.Refused(r, why))
}

// resendLocked answers a resend of a rid already taken (XEP-0124 §14.3):
// with the answer kept, by taking the place of the copy still held, or as
// refused.
func (s *Session) resendLocked(r *Request) {
	if a, hold := s.c.Resent(r); a != nil {
		s.answerWithLocked(r, *a)
		return
	} else if hold {
		s.holdLocked(r)
		s.answerLocked()
		return
	}
	for _, k := range s.kept {
		if k.rid == r.RID {
			r.done = true
			s.pending = append(s.pending, delivery{r.reply, k.resp})
			return
		}
	}
	for i, old := range s.held {
		if old.RID == r.RID {
			s.stopLocked(old)
			old.superseded = true
			old.done = true
			s.pending = append(s.pending, delivery{old.reply, s.c.Refused(old, WhySuperseded).Response})
			r.Pause, r.Now, r.Data = old.Pause, old.Now, old.Data
			s.held[i] = r
			if !r.Now {
				r.timer = time.AfterFunc(s.p.Wait, func() { s.expire(r) })
			}
			s.answerLocked()
			return
		}
	}
	if r.RID == s.rcvd && s.busy {
		s.refuseLocked(r, WhyBusy)
		return
	}
	s.refuseLocked(r, WhyNotKept)
}

// KeepLocked keeps resp as the answer to rid, as if it had been
// answered: for a session created without its creation request being
// served here (a prebound one).
func (s *Session) KeepLocked(rid uint64, resp httphold.Response) { s.keepLocked(rid, resp) }

// keepLocked keeps an answer for a resend of its rid: as many as the
// client may have open at once.
func (s *Session) keepLocked(rid uint64, resp httphold.Response) {
	if len(s.kept) >= s.p.Requests {
		n := copy(s.kept, s.kept[len(s.kept)-s.p.Requests+1:])
		clear(s.kept[n:])
		s.kept = s.kept[:n]
	}
	s.kept = append(s.kept, kept{rid: rid, resp: resp})
}

// ForgetLocked drops the answers kept for rids up to rid: the client has
// them (XEP-0124 §9.2).
func (s *Session) ForgetLocked(rid uint64) {
	i := 0
	for i < len(s.kept) && s.kept[i].rid <= rid {
		i++
	}
	n := copy(s.kept, s.kept[i:])
	clear(s.kept[n:])
	s.kept = s.kept[:n]
}

// KeptLocked returns the rid of the oldest answer kept and whether there
// is one.
func (s *Session) KeptLocked() (uint64, bool) {
	if len(s.kept) == 0 {
		return 0, false
	}
	return s.kept[0].rid, true
}

func (s *Session) removeHeldLocked(r *Request) {
	for i, o := range s.held {
		if o == r {
			s.held = append(s.held[:i], s.held[i+1:]...)
			return
		}
	}
}

func (s *Session) stopLocked(r *Request) {
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
}

// End ends the session: every request open gets rest, and so does every
// later one.
func (s *Session) End(rest httphold.Response) {
	s.mu.Lock()
	s.endLocked(rest)
	s.Unlock()
}

// EndLocked is End with the lock held.
func (s *Session) EndLocked(rest httphold.Response) { s.endLocked(rest) }

func (s *Session) endLocked(rest httphold.Response) {
	if s.ended {
		return
	}
	s.ended, s.rest = true, rest
	s.stopIdleLocked()
	s.kept = nil
	for _, r := range append(s.held, s.early...) {
		s.answerWithLocked(r, Answer{Response: rest})
	}
	s.held, s.early = nil, nil
}

// Attach counts a consumer that is not a request (an event stream): the
// session is not idle while it is there.
func (s *Session) Attach() {
	s.mu.Lock()
	s.others++
	s.stopIdleLocked()
	s.Unlock()
}

// Detach counts it out.
func (s *Session) Detach() {
	s.mu.Lock()
	s.DetachLocked()
	s.Unlock()
}

// DetachLocked is Detach with the lock held.
func (s *Session) DetachLocked() {
	s.others--
	s.armIdleLocked()
}

// SetInactivityLocked changes the inactivity period from now on: shorter,
// say, for a session that is over but keeps its last answer a while.
func (s *Session) SetInactivityLocked(d time.Duration) {
	s.p.Inactivity = d
	if s.idle != nil && s.OpenLocked() == 0 && s.others == 0 && !s.ended && s.pause == 0 {
		s.armIdleLocked()
	}
}

// Touch starts the inactivity period afresh, if nothing is open: for a
// session that has just been created, or that Idle decided to keep.
func (s *Session) Touch() {
	s.mu.Lock()
	s.armIdleLocked()
	s.Unlock()
}

// armIdleLocked starts the inactivity period once nothing is open
// (XEP-0124 §10), or the pause asked for.
func (s *Session) armIdleLocked() {
	if s.ended || s.OpenLocked() > 0 || s.others > 0 {
		return
	}
	d := s.p.Inactivity
	if s.pause > 0 {
		d = s.pause
	}
	s.idleAt = time.Now().Add(d)
	if s.idle == nil {
		s.idle = time.AfterFunc(d, s.onIdle)
	} else {
		s.idle.Reset(d)
	}
}

// InactivityLocked is the inactivity period in force (Params.Inactivity,
// or a pause asked for) and, when nothing is open, when it ends.
func (s *Session) InactivityLocked() (d time.Duration, due time.Time) {
	d = s.p.Inactivity
	if s.pause > 0 {
		d = s.pause
	}
	if s.OpenLocked() > 0 || s.others > 0 || s.ended {
		return d, time.Time{}
	}
	return d, s.idleAt
}

func (s *Session) stopIdleLocked() {
	if s.idle != nil {
		s.idle.Stop()
	}
}

func (s *Session) onIdle() {
	s.mu.Lock()
	due := !s.ended && s.OpenLocked() == 0 && s.others == 0 && !time.Now().Before(s.idleAt)
	s.Unlock()
	if due {
		s.c.Idle()
	}
}
