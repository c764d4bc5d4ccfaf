package bridge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/limits"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// Config configures a Hub. The zero value of each field is its documented
// default.
type Config struct {
	// Upstream says how to reach a domain's server. An error refuses the
	// domain: a *CloseError is used as it is, any other error means
	// host-unknown. Nil means any domain, found by SRV lookup, with
	// STARTTLS verified against the system roots.
	Upstream func(domain string) (xmppclient.Config, error)
	// MaxSessions bounds the sessions open at once. Zero means 9000.
	MaxSessions int
	// QueueBytes bounds each session's outbound queue; a session whose
	// queue would grow past it is ended (ReasonSlowConsumer). Zero means
	// 1 MiB.
	QueueBytes int
	// OnEnd, if set, is called once for every session when it ends, with
	// the reason. It runs on the session's goroutine and must not block.
	OnEnd func(s *Session, e *CloseError)
	// OnFault, if set, is called for every element from a server that
	// was not namespace-well-formed and was repaired or dropped instead
	// of relayed as it came (xmppclient.Event.Fault). It runs on the
	// session's reader goroutine and must not block.
	OnFault func(s *Session, fault error)

	// Limits, if set, bounds what one client address may do
	// (OpenRequest.Client): its sessions, how fast it opens them, and the
	// logins tried from it and for each account, the bridge's own
	// (OpenRequest.Login) and those the browser relays (SASL <auth/>).
	// Nil: none of these; sessions without a known client are never
	// limited by address.
	Limits *limits.Limiter
	// Reserved is how many of MaxSessions only authenticated sessions may
	// take: a relayed session counts as unauthenticated until the server
	// says SASL <success/>, so streams opened by anyone cannot lock out
	// those who log in. Zero means DefaultReserved(MaxSessions); negative
	// none.
	Reserved int
	// AuthTimeout is how long a relayed session may go without
	// authenticating before the bridge ends it (ReasonAuthTimeout),
	// whatever the server's own timeout. Zero means DefaultAuthTimeout;
	// negative none.
	AuthTimeout time.Duration
	// OnLogin, if set, is told of every login the bridge makes or sees
	// go by, and of those it throttled. It runs on the goroutine of the
	// session's transport or reader and must not block.
	OnLogin func(ev LoginEvent)
}

// Stats are counts over the Hub's life, for metrics.
type Stats struct {
	// Repaired and Dropped count elements from servers that were not
	// namespace-well-formed: repaired to an equivalent that is, or
	// dropped. Either way their sessions went on.
	Repaired, Dropped uint64
	// Resumed and ResumeFailed count upstream streams whose link broke,
	// of sessions whose stream management the bridge does: resumed in
	// place, or not (the session ended).
	Resumed, ResumeFailed uint64
	// Transports holds the counts of each transport's sessions, by the
	// name it gives (Named); stats.go.
	Transports map[string]TransportStats
	// LoginsFailed counts the logins the server refused: bridge-side
	// ones, whose sessions ended with ReasonNotAuthorized, and those
	// reported with CountLoginFailed. LoginsThrottled counts those the
	// bridge refused itself (CountLoginThrottled).
	LoginsFailed, LoginsThrottled uint64
}

// Hub opens and tracks sessions.
type Hub struct {
	cfg    Config
	nextID atomic.Uint64
	wg     sync.WaitGroup // one per running session reader

	repaired, dropped     atomic.Uint64
	resumed, resumeFailed atomic.Uint64
	st                    hubStats

	lim limitCounts

	mu       sync.Mutex
	sessions map[*Session]struct{}
	anon     int // sessions not authenticated (yet)
	closing  bool
}

// Defaults of the Config fields whose zero value means one.
const (
	// DefaultMaxSessions fits a process allowed 20,000 file descriptors,
	// with two a session (browser and upstream) and room for listeners,
	// DNS and logs.
	DefaultMaxSessions = 9000
	DefaultQueueBytes  = 1 << 20
)

// New returns a Hub.
func New(cfg Config) *Hub {
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = DefaultQueueBytes
	}
	if cfg.Upstream == nil {
		cfg.Upstream = func(domain string) (xmppclient.Config, error) {
			return xmppclient.Config{Domain: domain}, nil
		}
	}
	return &Hub{cfg: cfg, sessions: make(map[*Session]struct{})}
}

// Stats returns the Hub's counts so far.
func (h *Hub) Stats() Stats {
	st := Stats{Repaired: h.repaired.Load(), Dropped: h.dropped.Load(), Resumed: h.resumed.Load(), ResumeFailed: h.resumeFailed.Load()}
	h.st.fill(&st)
	return st
}

// fault counts and reports an element from the server that was repaired
// or dropped.
func (h *Hub) fault(s *Session, ev *xmppclient.Event) {
	if ev.Kind == xmppclient.EventDropped {
		h.dropped.Add(1)
	} else {
		h.repaired.Add(1)
	}
	if h.cfg.OnFault != nil {
		h.cfg.OnFault(s, ev.Fault)
	}
}

// Len is the number of sessions open.
func (h *Hub) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}

// Open opens the upstream stream for a browser that opened its own. It
// always returns a session whose first item is a stream header: on failure
// the header is the bridge's own and the next item ends the session with
// the error, so the transport tells the browser as a server would. The
// error is also returned, for logs.
func (h *Hub) Open(ctx context.Context, req OpenRequest, t Transport) (*Session, error) {
	s := &Session{hub: h, t: t, id: h.nextID.Add(1), ctr: h.st.opened(t)}
	s.q.maxBytes = h.cfg.QueueBytes
	s.q.idle = true
	s.auth.client, s.auth.domain = req.Client, req.To
	if s.auth.client == "" {
		s.auth.client = ClientFrom(ctx)
	}
	t.Attach(s)

	if e := h.admit(s, req); e != nil {
		return s, h.fail(s, req, e)
	}
	var attempt *limits.Attempt
	if req.Login != nil {
		var e *CloseError
		if attempt, e = h.startLogin(s, req); e != nil {
			h.remove(s)
			return s, h.fail(s, req, e)
		}
	}
	cfg, err := h.cfg.Upstream(req.To)
	if err != nil {
		var ce *CloseError
		if !errors.As(err, &ce) {
			ce = &CloseError{Reason: ReasonHostUnknown, Err: err}
		}
		h.remove(s)
		return s, h.fail(s, req, ce)
	}
	if cfg.Domain == "" {
		cfg.Domain = req.To
	}
	cfg.From, cfg.Lang = req.From, req.Lang
	cfg.StreamManagement = req.Login != nil && (req.StreamManagement || req.Resume != nil)
	up, err := dial(ctx, cfg, req)
	if req.Login != nil {
		h.endLogin(s, attempt, req, err)
	}
	if err != nil {
		h.remove(s)
		return s, h.fail(s, req, dialEnd(err))
	}

	s.mu.Lock()
	if s.ending != nil {
		// Ended while dialling (shutdown): the queue already holds the end.
		e := s.ending
		s.mu.Unlock()
		_ = up.Close()
		h.remove(s)
		h.report(s, e)
		return s, e
	}
	s.up = up
	s.movedLocked()
	if secret := up.Secret(); cfg.StreamManagement && secret != nil {
		s.resume = &resumeWith{cfg: cfg, cred: xmppclient.Credentials{Username: req.Login.Username, Resource: req.Login.Resource, Secret: secret}}
	}
	s.mu.Unlock()

	if req.Login == nil {
		h.watchAuth(s)
	}
	s.pushFor(Item{Event: xmppclient.Event{Kind: xmppclient.EventHeader, Header: up.Header()}})
	h.wg.Add(1)
	go s.readLoop(up, false)
	return s, nil
}

// dial opens the upstream stream on a goroutine of its own: TLS and
// stream negotiation grow a goroutine's stack well past what an idle
// session needs, and a stack grown on the transport's long-lived read loop
// would stay grown for the session's life.
func dial(ctx context.Context, cfg xmppclient.Config, req OpenRequest) (up *xmppclient.Conn, err error) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		switch {
		case req.Login != nil && req.Resume != nil:
			up, err = xmppclient.Resume(ctx, cfg, *req.Login, *req.Resume)
		case req.Login != nil:
			up, err = xmppclient.Login(ctx, cfg, *req.Login)
		default:
			up, err = xmppclient.Dial(ctx, cfg)
		}
	}()
	<-done
	return up, err
}

// fail ends a session that never got an upstream stream: the browser gets
// a header of the bridge's own, then the error.
func (h *Hub) fail(s *Session, req OpenRequest, e *CloseError) error {
	s.pushFor(Item{Event: xmppclient.Event{Kind: xmppclient.EventHeader, Header: xmppclient.Header{
		ID: newStreamID(), From: req.To, To: req.From, Lang: req.Lang, Version: "1.0",
	}}})
	s.mu.Lock()
	if s.ending == nil {
		s.ending = e
	}
	s.mu.Unlock()
	s.endQueueFor(e, false)
	h.report(s, e)
	return e
}

func (h *Hub) remove(s *Session) { h.forget(s) }

// finished is called by a session's reader when the session is over.
func (h *Hub) finished(s *Session, e *CloseError) {
	h.remove(s)
	h.report(s, e)
}

func (h *Hub) report(s *Session, e *CloseError) {
	h.st.ended(s.ctr, e.Reason)
	if h.cfg.OnEnd != nil {
		h.cfg.OnEnd(s, e)
	}
}

// Shutdown refuses new sessions, ends every session with system-shutdown
// (the server is asked to close each upstream stream cleanly) and waits
// until every session is over or ctx is done; then it cuts what is left.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	list := make([]*Session, 0, len(h.sessions))
	for s := range h.sessions {
		list = append(list, s)
	}
	h.mu.Unlock()

	for _, s := range list {
		s.End(&CloseError{Reason: ReasonShutdown})
	}
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	for _, s := range list {
		if up := s.upstream(); up != nil {
			_ = up.Close()
		}
	}
	<-done
	return ctx.Err()
}

func newStreamID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
