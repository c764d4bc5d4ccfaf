package bosh

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/origin"
)

// Config configures a Handler. The zero value of each field but Hub is its
// documented default. Durations go out in attributes as whole seconds
// (wait and polling rounded up, inactivity and maxpause rounded down, at
// least one second).
type Config struct {
	// Hub opens the upstream sessions. Required.
	Hub *bridge.Hub
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
	// SeeOtherURI, if set, is asked at each session creation; a non-empty
	// answer sends the client there with see-other-uri instead of opening
	// a session.
	SeeOtherURI func(domain string) string
	// OnReject, if set, hears of every request ServeHTTP refused with a
	// binding condition the request itself caused (not a session's end),
	// with the HTTP status (0 when the connection was closed without an
	// answer, XEP-0124 §19.1) and the reason; for logs.
	OnReject func(r *http.Request, status int, condition, reason string)
}

// Defaults of Config.
const (
	defaultCORSMaxAge     = 2 * time.Hour
	defaultMaxWait        = 60 * time.Second
	defaultMaxHold        = 1
	defaultInactivity     = 60 * time.Second
	defaultPolling        = 5 * time.Second
	defaultMaxPause       = 120 * time.Second
	defaultMaxStanzaBytes = 256 << 10
	defaultWriteTimeout   = 10 * time.Second
)

// version is the highest BOSH version implemented.
var version = [2]int{1, 11}

// Handler serves BOSH (XEP-0124, XEP-0206) at one URL path.
type Handler struct {
	cfg Config
	// now reads the clock for the request-frequency rules (XEP-0124 §11,
	// §12); tests replace it. Timers use the real clock.
	now    func() time.Time
	ctx    context.Context // cancelled when Shutdown gives up waiting
	cancel context.CancelFunc
	wg     sync.WaitGroup // requests being served

	mu       sync.Mutex
	sessions map[string]*session
	closing  bool
}

// New returns a Handler.
func New(cfg Config) *Handler {
	if cfg.CheckOrigin == nil {
		cfg.CheckOrigin = origin.Same
	}
	if cfg.CORSMaxAge <= 0 {
		cfg.CORSMaxAge = defaultCORSMaxAge
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = defaultMaxWait
	}
	if cfg.MaxHold <= 0 {
		cfg.MaxHold = defaultMaxHold
	}
	if cfg.Inactivity <= 0 {
		cfg.Inactivity = defaultInactivity
	}
	if cfg.Polling <= 0 {
		cfg.Polling = defaultPolling
	}
	if cfg.MaxPause == 0 {
		cfg.MaxPause = defaultMaxPause
	}
	if cfg.MaxStanzaBytes <= 0 {
		cfg.MaxStanzaBytes = defaultMaxStanzaBytes
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 4 * cfg.MaxStanzaBytes
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = defaultWriteTimeout
	}
	h := &Handler{cfg: cfg, now: time.Now, sessions: make(map[string]*session)}
	h.ctx, h.cancel = context.WithCancel(context.Background())
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
	if !h.enter() {
		h.write(w, r, http.StatusOK, terminateBody(condSystemShutdown, ""), "")
		return
	}
	defer h.wg.Done()
	o := h.serveHTTP(w, r)
	if o.refused != nil && h.cfg.OnReject != nil {
		h.cfg.OnReject(r, o.status, o.refused.cond(), o.refused.text)
	}
	if o.abort {
		// XEP-0124 §19.1: a request of a session begun over TLS that
		// comes without it gets its connection closed, and the session
		// goes on.
		panic(http.ErrAbortHandler)
	}
	h.write(w, r, o.status, o.body, o.content)
}

// outcome is the answer to one request.
type outcome struct {
	body    []byte
	status  int
	content string     // Content-Type; "" is the default
	refused *bindError // the request itself was refused (for OnReject)
	abort   bool       // close the connection without an answer
}

// serveHTTP reads, checks and serves a POSTed request.
func (h *Handler) serveHTTP(w http.ResponseWriter, r *http.Request) outcome {
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		// No 'accept' attribute is offered (XEP-0124 §7.2), so no request
		// may be compressed.
		return h.failed("", false, badRequest(bridge.ReasonBadFormat, "Content-Encoding "+ce+" is not accepted"))
	}
	bp, err := h.readBody(w, r)
	switch {
	case errors.Is(err, errTooLarge):
		sid, legacy := peek(*bp)
		putBuffer(bp)
		return h.failed(sid, legacy, tooLarge(h.cfg.MaxBodyBytes))
	case err != nil:
		putBuffer(bp)
		// The connection broke, or the body came too slowly. That request
		// never arrived as far as the session is concerned: the client may
		// send it again (XEP-0124 §14.3), so nothing ends. The answer,
		// if it gets through at all, is the recoverable condition.
		return outcome{body: errorBody, status: http.StatusOK}
	}
	rb, refused := h.parse(*bp)
	// Nothing parsed aliases the read buffer: it goes back before the
	// request is held, so held requests keep none.
	putBuffer(bp)
	if refused != nil {
		return *refused
	}
	return h.serve(r.Context(), rb, r.TLS != nil)
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
// of an existing session. overTLS is whether it came over TLS, when known.
func (h *Handler) serve(ctx context.Context, rb *body, overTLS bool) outcome {
	if rb.sid == "" {
		return h.create(ctx, rb, overTLS)
	}
	s := h.session(rb.sid)
	if s == nil {
		// Unknown, ended or timed out: the same answer for all, and the
		// same whatever the rid (XEP-0124 §14.3 note).
		return h.failed("", false, &bindError{reason: bridge.ReasonItemNotFound, text: "no such session"})
	}
	if s.overTLS && !overTLS {
		return outcome{abort: true, refused: &bindError{reason: bridge.ReasonPolicyViolation, text: "a session begun over TLS, continued without"}}
	}
	resp, status, refused := s.handle(ctx, rb)
	return outcome{body: resp, status: status, content: s.content, refused: refused}
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
	s.mu.Lock()
	bs := s.bs
	s.mu.Unlock()
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
	o := outcome{body: terminateBody(e.cond(), ""), status: httpStatus(e.cond(), legacy), refused: e}
	if sid != "" {
		if s := h.session(sid); s != nil {
			o.status = s.fail(e)
			o.content = s.content
		}
	}
	return o
}

// reject answers a request that never reached BOSH (wrong method, origin
// not allowed) with an HTTP error status and a BOSH body all the same.
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, status int, cond, reason string) {
	if h.cfg.OnReject != nil {
		h.cfg.OnReject(r, status, cond, reason)
	}
	h.write(w, r, status, terminateBody(cond, ""), "")
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
	list := make([]*session, 0, len(h.sessions))
	for _, s := range h.sessions {
		list = append(list, s)
	}
	h.mu.Unlock()
	for _, s := range list {
		s.shutdown()
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
		<-done
	}
	h.mu.Lock()
	list = list[:0]
	for _, s := range h.sessions {
		list = append(list, s)
	}
	h.mu.Unlock()
	for _, s := range list {
		s.shutdown()
	}
	return err
}

// Len is the number of BOSH sessions open.
func (h *Handler) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions)
}

// freshSID returns a session id no session of the Handler has (XEP-0124
// §7.2: unique within the connection manager), of 128 random bits.
func (h *Handler) freshSID() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		if sid := newSID(); h.sessions[sid] == nil {
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

var errTooLarge = errors.New("bosh: request body too large")

// tooLarge is the refusal of a body over the limit.
func tooLarge(max int) *bindError {
	return &bindError{reason: bridge.ReasonTooBig, text: "request body over " + strconv.Itoa(max) + " bytes"}
}

// readBody reads the request body, at most MaxBodyBytes of it, within
// WriteTimeout. On a body over the limit it returns errTooLarge and the
// part read, for peek. The buffer is the caller's to put back.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) (*[]byte, error) {
	rc := http.NewResponseController(w)
	// The write deadline too: reading the body may write "100 Continue",
	// and the connection may still carry the deadline of an earlier
	// response.
	_ = rc.SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout))
	_ = rc.SetReadDeadline(time.Now().Add(h.cfg.WriteTimeout))
	// A held request must not trip over this deadline in net/http's
	// background read, which watches for the client going away.
	defer func() { _ = rc.SetReadDeadline(time.Time{}) }()

	max := h.cfg.MaxBodyBytes
	bp := getBuffer()
	if r.ContentLength > int64(max) {
		*bp, _ = appendRead(*bp, io.LimitReader(r.Body, 512), 512)
		return bp, errTooLarge
	}
	b, err := appendRead(*bp, r.Body, max)
	*bp = b
	return bp, err
}

// appendRead appends everything r holds to b, refusing more than max bytes.
func appendRead(b []byte, r io.Reader, max int) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):min(cap(b), max+1)])
		b = b[:len(b)+n]
		if len(b) > max {
			return b[:max], errTooLarge
		}
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

var bufferPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooled is the largest buffer kept for reuse.
const maxPooled = 64 << 10

func getBuffer() *[]byte { return bufferPool.Get().(*[]byte) }

func putBuffer(bp *[]byte) {
	if cap(*bp) > maxPooled {
		return
	}
	*bp = (*bp)[:0]
	bufferPool.Put(bp)
}
