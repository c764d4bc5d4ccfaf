package bosh

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/bufpool"
	"github.com/xmppbridge/xmppbridge/internal/httphold"
	"github.com/xmppbridge/xmppbridge/internal/longpoll"
	"github.com/xmppbridge/xmppbridge/internal/origin"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// Config configures a Handler. The zero value of each field but Hub is its
// documented default. Durations go out in attributes as whole seconds
// (wait and polling rounded up, inactivity and maxpause rounded down, at
// least one second).
type Config struct {
	// Hub opens the upstream sessions. Required.
	Hub *bridge.Hub
	// BaseContext is the context that the opening of every session
	// derives from (its dial, and a prebound one's login) besides its
	// request's: when it is done, those under way stop, as when Shutdown
	// gives up waiting. Nil means context.Background().
	BaseContext context.Context
	// CheckOrigin says whether a browser Origin may use the endpoint; an
	// allowed Origin is echoed in Access-Control-Allow-Origin. Nil allows
	// requests without an Origin header and same-origin requests (the
	// Origin's host equals the request's Host).
	CheckOrigin func(r *http.Request) bool
	// AllowCredentials sends Access-Control-Allow-Credentials: true, so
	// pages may send cookies or HTTP authentication with their requests.
	AllowCredentials bool
	// CORSMaxAge is how long a browser may cache a preflight answer
	// (Access-Control-Max-Age). Zero means 2 hours.
	CORSMaxAge time.Duration
	// MaxWait is the longest a request is held (the session's 'wait' is
	// the client's, at most this). Zero means 60 seconds.
	MaxWait time.Duration
	// MaxHold is the most requests held at once per session (the session's
	// 'hold' is the client's, at most this). Zero means 1.
	MaxHold int
	// Requests is the 'requests' attribute, the most requests a client
	// may have open at once, which is also the rid window. Zero means the
	// session's hold plus one (XEP-0124 §7.2's recommendation); a value not
	// above the session's hold is raised to hold plus one.
	Requests int
	// Inactivity is how long a session may go without any request before
	// it is ended (XEP-0124 §10). Polling sessions get twice Polling more.
	// Zero means 60 seconds.
	Inactivity time.Duration
	// Polling is the shortest interval allowed between empty requests
	// (XEP-0124 §11, §12). Zero means 5 seconds.
	Polling time.Duration
	// MaxPause is the longest pause a client may ask for (XEP-0124 §10).
	// Zero means 120 seconds; a negative value offers no pausing.
	MaxPause time.Duration
	// MaxStanzaBytes is the largest payload accepted in a request; a larger
	// one ends the session with policy-violation. Zero means 256 KiB.
	MaxStanzaBytes int
	// MaxBodyBytes is the largest request body accepted; a larger one ends
	// the session with policy-violation. Zero means four times
	// MaxStanzaBytes.
	MaxBodyBytes int
	// WriteTimeout bounds reading a request body and writing a response.
	// Zero means 10 seconds.
	WriteTimeout time.Duration
	// Route says whether a session for the domain 'to' may be routed to
	// host:port, as the session creation request's 'route' attribute
	// ("xmpp:host:port", XEP-0124 §7.1) asks. The bridge reaches a domain
	// the way the Hub's Upstream says, so Route should accept only routes
	// that name that server; a refused route, or a protocol other than
	// xmpp, is host-unknown, and a route that is not proto:host:port is
	// bad-request. Nil ignores 'route', as XEP-0124 allows a connection
	// manager that serves a defined list of domains.
	Route func(to, host, port string) bool
	// DrainURI, if set, is where clients are sent when the bridge shuts
	// down (the see-other-uri condition, XEP-0124 §17.2) instead of
	// system-shutdown: another bridge, or the balancer in front of them.
	DrainURI string
	// SeeOtherURI, if set, is asked at each session creation; a non-empty
	// answer sends the client there with see-other-uri instead of opening
	// a session.
	SeeOtherURI func(domain string) string
	// SIDPrefix starts every session id, after which come 128 random bits
	// in hex: a cluster's node name and a dot (package internal/cluster),
	// so that any bridge can tell whose session a request is for. Empty
	// means none.
	SIDPrefix string
	// OnReject, if set, hears of every request ServeHTTP refused with a
	// binding condition the request itself caused (not a session's end),
	// with the HTTP status (0 when the connection was closed without an
	// answer, XEP-0124 §19.1) and the reason; for logs.
	OnReject func(r *http.Request, status int, condition, reason string)
}

// Defaults of the Config fields whose zero value means one.
const (
	DefaultCORSMaxAge   = 2 * time.Hour
	DefaultMaxWait      = 60 * time.Second
	DefaultMaxHold      = 1
	DefaultInactivity   = 60 * time.Second
	DefaultPolling      = 5 * time.Second
	DefaultMaxPause     = 120 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	// DefaultBodyStanzas is how many stanzas of MaxStanzaBytes a request
	// body may hold when MaxBodyBytes is zero.
	DefaultBodyStanzas = 4
)

// version is the highest BOSH version implemented.
var version = [2]int{1, 11}

// Handler serves BOSH (XEP-0124, XEP-0206) at one URL path.
type Handler struct {
	cfg Config
	// now reads the clock for the request-frequency rules (XEP-0124 §11,
	// §12); tests replace it. Timers use the real clock.
	now    func() time.Time
	ctx    context.Context // from BaseContext; cancelled when Shutdown gives up waiting
	cancel context.CancelFunc
	wg     sync.WaitGroup // requests being served

	mu       sync.Mutex
	sessions map[string]*session
	closing  bool
}

// New returns a Handler.
func New(cfg Config) *Handler {
	if cfg.BaseContext == nil {
		cfg.BaseContext = context.Background()
	}
	if cfg.CheckOrigin == nil {
		cfg.CheckOrigin = origin.Same
	}
	if cfg.CORSMaxAge <= 0 {
		cfg.CORSMaxAge = DefaultCORSMaxAge
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = DefaultMaxWait
	}
	if cfg.MaxHold <= 0 {
		cfg.MaxHold = DefaultMaxHold
	}
	if cfg.Inactivity <= 0 {
		cfg.Inactivity = DefaultInactivity
	}
	if cfg.Polling <= 0 {
		cfg.Polling = DefaultPolling
	}
	if cfg.MaxPause == 0 {
		cfg.MaxPause = DefaultMaxPause
	}
	if cfg.MaxStanzaBytes <= 0 {
		cfg.MaxStanzaBytes = xmppclient.DefaultMaxStanzaBytes
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultBodyStanzas * cfg.MaxStanzaBytes
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	h := &Handler{cfg: cfg, now: time.Now, sessions: make(map[string]*session)}
	h.ctx, h.cancel = context.WithCancel(cfg.BaseContext)
	return h
}

// ServeHTTP answers POST with BOSH and OPTIONS with a CORS preflight.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodOptions:
		h.preflight(w, r)
		return
	case http.MethodPost:
	default:
		// A BOSH body all the same, so that any client can read why.
		w.Header().Set("Allow", "POST, OPTIONS")
		h.reject(w, r, http.StatusMethodNotAllowed, condBadRequest, "BOSH requests are POSTed (XEP-0124 §5)")
		return
	}
	if !h.cfg.CheckOrigin(r) {
		h.reject(w, r, http.StatusForbidden, condPolicyViolation, "origin not allowed: "+r.Header.Get("Origin"))
		return
	}
	h.cors(w.Header(), r)
	if !h.enter() {
		h.write(w, r, h.response(http.StatusOK, h.shutdownBody(), "", false))
		return
	}
	o := h.serveHTTP(w, r)
	if o.refused != nil && h.cfg.OnReject != nil {
		h.cfg.OnReject(r, o.status(), o.refused.cond(), o.refused.text)
	}
	switch {
	case o.held != nil:
		o.held.Wait() // counted out when answered
	case o.abort:
		// XEP-0124 §19.1: a request of a session begun over TLS that
		// comes without it gets its connection closed, and the session
		// goes on.
		h.wg.Done()
		panic(http.ErrAbortHandler)
	default:
		h.write(w, r, o.resp)
		h.wg.Done()
	}
}

// shutdownBody answers what comes while the Handler shuts down: the
// client is sent to DrainURI when there is one.
func (h *Handler) shutdownBody() []byte {
	if h.cfg.DrainURI != "" {
		return terminateBody(condSeeOtherURI, h.cfg.DrainURI)
	}
	return terminateBody(condSystemShutdown, "")
}

// outcome is what became of one request: answered now (resp), or held for
// an answer later.
type outcome struct {
	resp    httphold.Response
	held    *httphold.Held
	refused *bindError // the request itself was refused (for OnReject)
	abort   bool       // close the connection without an answer
}

func (o *outcome) status() int {
	if o.abort || o.held != nil {
		return 0
	}
	return o.resp.Status
}

// serveHTTP reads, checks and serves a POSTed request.
func (h *Handler) serveHTTP(w http.ResponseWriter, r *http.Request) outcome {
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		// No 'accept' attribute is offered (XEP-0124 §7.2), so no request
		// may be compressed.
		return h.failed("", false, badRequest(bridge.ReasonBadFormat, "Content-Encoding "+ce+" is not accepted"))
	}
	bp := bufpool.Get()
	var err error
	*bp, err = httphold.ReadBody(w, r, *bp, h.cfg.MaxBodyBytes, 512, h.cfg.WriteTimeout)
	switch {
	case errors.Is(err, httphold.ErrTooLarge):
		sid, legacy := peek(*bp)
		bufpool.Put(bp)
		return h.failed(sid, legacy, tooLarge(h.cfg.MaxBodyBytes))
	case err != nil:
		bufpool.Put(bp)
		// The connection broke, or the body came too slowly, and is
		// closed. That request never arrived as far as the session is
		// concerned: the client may send it again (XEP-0124 §14.3), so
		// nothing ends. The answer, if it gets through at all, is the
		// recoverable condition.
		return outcome{resp: h.response(http.StatusOK, errorBody, "", false)}
	}
	rb, refused := h.parse(*bp)
	// Nothing parsed aliases the read buffer: it goes back before the
	// request is held, so held requests keep none.
	bufpool.Put(bp)
	if refused != nil {
		return *refused
	}
	return h.serve(w, r, rb)
}

// enter counts a request being served, unless the Handler is shutting down.
func (h *Handler) enter() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	h.wg.Add(1)
	return true
}

// parse checks a request body. A body that cannot be parsed is refused, and
// the session it names, if the start tag can be read, ends.
func (h *Handler) parse(b []byte) (*body, *outcome) {
	rb, err := parseBody(b, parseLimits{maxBody: h.cfg.MaxBodyBytes, maxStanza: h.cfg.MaxStanzaBytes})
	if err != nil {
		sid, legacy := peek(b)
		o := h.failed(sid, legacy, err)
		return nil, &o
	}
	return rb, nil
}

// serve serves a parsed request: a session creation request, or a request
// of an existing session.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, rb *body) outcome {
	if rb.sid == "" {
		return h.create(w, r, rb)
	}
	s := h.session(rb.sid)
	if s == nil {
		// Unknown, ended or timed out: the same answer for all, and the
		// same whatever the rid (XEP-0124 §14.3 note).
		return h.failed("", false, &bindError{reason: bridge.ReasonItemNotFound, text: "no such session"})
	}
	if s.overTLS && r.TLS == nil {
		return outcome{abort: true, refused: &bindError{reason: bridge.ReasonPolicyViolation, text: "a session begun over TLS, continued without"}}
	}
	if rb.stream != "" && (len(rb.payloads) > 0 || rb.from != "") {
		// Multiple streams (XEP-0124 §16) are not offered, so no stream
		// name is valid (§16.4). An empty body without 'from' says nothing
		// for any stream, and its 'stream' is ignored.
		e := &bindError{reason: bridge.ReasonItemNotFound, text: "no stream " + rb.stream + ": multiple streams are not offered"}
		return outcome{resp: s.fail(e), refused: e}
	}
	q := &request{rb: rb, terminate: rb.typ == "terminate", gzip: acceptsGzip(r.Header.Values("Accept-Encoding"))}
	req := &longpoll.Request{RID: rb.rid, Data: q}
	if rb.hasPause {
		req.Pause = time.Duration(rb.pause) * time.Second
	}
	held := h.hold(w, r, s.lp, req)
	s.lp.Submit(req, held)
	s.lp.Lock()
	refused := q.refused
	s.lp.Unlock()
	return outcome{held: held, refused: refused}
}

// hold prepares req's answer to go out when the engine gives it: the
// Handler counts the request out once it is written, and a client that
// goes away meanwhile is the engine's to know of.
func (h *Handler) hold(w http.ResponseWriter, r *http.Request, lp *longpoll.Session, req *longpoll.Request) *httphold.Held {
	return httphold.Hold(w, r, httphold.Options{
		WriteTimeout: h.cfg.WriteTimeout,
		OnGone:       func() { lp.Gone(req) },
		OnDone:       h.wg.Done,
	})
}

// JID returns the full JID bound in the BOSH session sid, for a session
// the bridge logged in itself (Prebind). It is "" for a session whose
// client authenticates through the bridge; ok is false when there is no
// such session.
func (h *Handler) JID(sid string) (jid string, ok bool) {
	s := h.session(sid)
	if s == nil {
		return "", false
	}
	s.lp.Lock()
	bs := s.bs
	s.lp.Unlock()
	if bs == nil {
		return "", true
	}
	return bs.JID(), true
}

func (h *Handler) session(sid string) *session {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sessions[sid]
}

// register makes s reachable by its sid once its bridge session is open,
// unless the Handler is shutting down: then it ends bs and reports false.
func (h *Handler) register(s *session, bs *bridge.Session) bool {
	h.mu.Lock()
	closing := h.closing
	if !closing {
		h.sessions[s.sid] = s
	}
	h.mu.Unlock()
	if closing {
		bs.End(&bridge.CloseError{Reason: bridge.ReasonShutdown})
	}
	return !closing
}

func (h *Handler) forget(s *session) {
	h.mu.Lock()
	if h.sessions[s.sid] == s {
		delete(h.sessions, s.sid)
	}
	h.mu.Unlock()
}

// failed answers a request refused with a terminal binding condition it
// caused itself. The session named by sid, if there is one, ends with the
// same condition, since a terminal condition ends the session it is sent
// in (XEP-0124 §17.2). legacy is whether the request is a session creation
// request without 'ver'.
func (h *Handler) failed(sid string, legacy bool, e *bindError) outcome {
	if sid != "" {
		if s := h.session(sid); s != nil {
			return outcome{resp: s.fail(e), refused: e}
		}
	}
	return outcome{resp: h.response(httpStatus(e.cond(), legacy), terminateBody(e.cond(), ""), "", false), refused: e}
}

// reject answers a request that never reached BOSH (wrong method, origin
// not allowed) with an HTTP error status and a BOSH body all the same.
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, status int, cond, reason string) {
	if h.cfg.OnReject != nil {
		h.cfg.OnReject(r, status, cond, reason)
	}
	h.cors(w.Header(), r)
	h.write(w, r, h.response(status, terminateBody(cond, ""), "", false))
}

// preflight answers a CORS preflight request (OPTIONS) without touching
// any session.
func (h *Handler) preflight(w http.ResponseWriter, r *http.Request) {
	if !h.cfg.CheckOrigin(r) {
		h.reject(w, r, http.StatusForbidden, condPolicyViolation, "origin not allowed: "+r.Header.Get("Origin"))
		return
	}
	hd := w.Header()
	h.cors(hd, r)
	hd.Set("Allow", "POST, OPTIONS")
	if r.Header.Get("Origin") != "" {
		hd.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		hd.Set("Access-Control-Allow-Headers", "Content-Type")
		hd.Set("Access-Control-Max-Age", strconv.Itoa(int(h.cfg.CORSMaxAge/time.Second)))
	}
	hd.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// cors sets the CORS headers of an answer: none for a request without an
// Origin or from an Origin not allowed.
func (h *Handler) cors(hd http.Header, r *http.Request) {
	hd.Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	if origin == "" || !h.cfg.CheckOrigin(r) {
		return
	}
	hd.Set("Access-Control-Allow-Origin", origin)
	if h.cfg.AllowCredentials {
		hd.Set("Access-Control-Allow-Credentials", "true")
	}
}

// Shutdown refuses new requests with system-shutdown, ends every session
// with system-shutdown (the Hub's Shutdown, which should run first or at
// the same time, does the same) so that held requests are answered, and
// waits until every request being served has been answered or ctx is done;
// then it answers what is left at once.
func (h *Handler) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	h.mu.Unlock()
	for _, s := range h.list() {
		s.shutdown(false)
	}
	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		h.cancel()
		for _, s := range h.list() {
			s.shutdown(true)
		}
		<-done
	}
	for _, s := range h.list() {
		s.shutdown(true)
	}
	return err
}

func (h *Handler) list() []*session {
	h.mu.Lock()
	defer h.mu.Unlock()
	list := make([]*session, 0, len(h.sessions))
	for _, s := range h.sessions {
		list = append(list, s)
	}
	return list
}

// Len is the number of BOSH sessions open.
func (h *Handler) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}

// freshSID returns a session id no session of the Handler has (XEP-0124
// §7.2: unique within the connection manager), of 128 random bits after
// Config.SIDPrefix.
func (h *Handler) freshSID() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		if sid := h.cfg.SIDPrefix + newSID(); h.sessions[sid] == nil {
			return sid
		}
	}
}

// newSID returns a session id of 128 random bits.
func newSID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24)
	return hex.EncodeToString(b[:])
}

// tooLarge is the refusal of a body over the limit.
func tooLarge(max int) *bindError {
	return &bindError{reason: bridge.ReasonTooBig, text: "request body over " + strconv.Itoa(max) + " bytes"}
}
