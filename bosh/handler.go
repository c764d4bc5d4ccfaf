package bosh

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/xmppbridge/xmppbridge/bridge"
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
	// OnReject, if set, hears of every request refused with a binding
	// condition the request itself caused (not a session's end), with the
	// HTTP status and the reason; for logs.
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
		cfg.CheckOrigin = sameOrigin
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
	h.mu.Lock()
	closing := h.closing
	if !closing {
		h.wg.Add(1)
	}
	h.mu.Unlock()
	if closing {
		h.write(w, r, http.StatusOK, terminateBody(condSystemShutdown, ""), "")
		return
	}
	defer h.wg.Done()

	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		// No 'accept' attribute is offered (XEP-0124 §7.2), so no request
		// may be compressed.
		h.fail(w, r, "", false, badRequest(bridge.ReasonBadFormat, "Content-Encoding "+ce+" is not accepted"))
		return
	}
	bp, berr := h.readBody(w, r)
	if berr != nil {
		var sid string
		legacy := false
		if bp != nil {
			sid, legacy = peek(*bp)
			putBuffer(bp)
		}
		h.fail(w, r, sid, legacy, berr)
		return
	}
	rb, berr := parseBody(*bp, parseLimits{maxBody: h.cfg.MaxBodyBytes, maxStanza: h.cfg.MaxStanzaBytes})
	if berr != nil {
		sid, legacy := peek(*bp)
		putBuffer(bp)
		h.fail(w, r, sid, legacy, berr)
		return
	}
	putBuffer(bp) // rb holds copies

	if rb.sid == "" {
		h.create(w, r, rb)
		return
	}
	s := h.session(rb.sid)
	if s == nil {
		// Unknown, ended or timed out: the same answer for all, and the
		// same whatever the rid (XEP-0124 §14.3 note).
		h.fail(w, r, "", false, &bindError{cond: condItemNotFound, text: "no such session"})
		return
	}
	resp, status, refused := s.handle(rb)
	if refused != nil && h.cfg.OnReject != nil {
		h.cfg.OnReject(r, status, refused.cond, refused.text)
	}
	h.write(w, r, status, resp, s.content)
}

func (h *Handler) session(sid string) *session {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sessions[sid]
}

func (h *Handler) forget(s *session) {
	h.mu.Lock()
	if h.sessions[s.sid] == s {
		delete(h.sessions, s.sid)
	}
	h.mu.Unlock()
}

// fail answers a request refused with a terminal binding condition it
// caused itself. The session named by sid, if there is one, ends with the
// same condition, since a terminal condition ends the session it is sent
// in (XEP-0124 §17.2). legacy is whether the request is a session creation
// request without 'ver'.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, sid string, legacy bool, e *bindError) {
	status := httpStatus(e.cond, legacy)
	content := ""
	if sid != "" {
		if s := h.session(sid); s != nil {
			status = s.fail(e)
			content = s.content
		}
	}
	if h.cfg.OnReject != nil {
		h.cfg.OnReject(r, status, e.cond, e.text)
	}
	h.write(w, r, status, terminateBody(e.cond, ""), content)
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

func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

// newSID returns a session id of 128 random bits.
func newSID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24)
	return hex.EncodeToString(b[:])
}

var errTooLarge = errors.New("bosh: request body too large")

// readBody reads the request body, at most MaxBodyBytes of it, within
// WriteTimeout. On a body over the limit it returns the part read, for
// peekSID, with policy-violation.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) (*[]byte, *bindError) {
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
	if r.ContentLength > int64(max) {
		bp := getBuffer()
		*bp, _ = appendRead(*bp, io.LimitReader(r.Body, 512), 512)
		return bp, &bindError{cond: condPolicyViolation, reason: bridge.ReasonTooBig, text: "request body over " + strconv.Itoa(max) + " bytes"}
	}
	bp := getBuffer()
	b, err := appendRead(*bp, r.Body, max)
	*bp = b
	switch {
	case errors.Is(err, errTooLarge):
		return bp, &bindError{cond: condPolicyViolation, reason: bridge.ReasonTooBig, text: "request body over " + strconv.Itoa(max) + " bytes"}
	case err != nil:
		return bp, badRequest(bridge.ReasonGone, "reading the request body: "+err.Error())
	}
	return bp, nil
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
