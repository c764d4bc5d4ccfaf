package jsonapi

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/httphold"
	"github.com/xmppbridge/xmppbridge/internal/longpoll"
	"github.com/xmppbridge/xmppbridge/internal/origin"
	"github.com/xmppbridge/xmppbridge/internal/wsconn"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// Subprotocol is the WebSocket subprotocol of JSON frames.
const Subprotocol = "xmppbridge-json.v1"

// Config configures a Handler. The zero value of each field but Hub is its
// documented default.
// DefaultResumeWindow is how long a detached session waits for its page
// unless Config.ResumeWindow says otherwise.
const DefaultResumeWindow = 2 * time.Minute

// Defaults of the other Config fields whose zero value means one.
const (
	DefaultWait       = 30 * time.Second
	DefaultInactivity = 60 * time.Second
	DefaultHeartbeat  = 15 * time.Second
	DefaultTokenTTL   = 60 * time.Second
)

type Config struct {
	// Hub opens the upstream sessions. Required.
	Hub *bridge.Hub
	// BaseContext is the context that the opening of every session
	// derives from (its dial and login, or the resume of another
	// bridge's): when it is done, those under way stop, and so do the
	// WebSockets' closing handshakes, as when Shutdown ends. Nil means
	// context.Background().
	BaseContext context.Context
	// CheckOrigin says whether a browser Origin may connect. Nil allows
	// requests without an Origin header and same-origin requests.
	CheckOrigin func(r *http.Request) bool
	// AllowInsecurePassword accepts passwords over plain HTTP from any
	// address. False accepts them only over TLS or from loopback.
	AllowInsecurePassword bool
	// PrebindSecret enables POST {base}/prebind for callers that present it
	// as "Authorization: Bearer <secret>". Empty: prebinding is off (404).
	PrebindSecret string
	// PrebindBOSH, if set, serves prebind requests with "bosh": true: it
	// opens a BOSH session logged in as the request's account, which the
	// Handler has checked (bosh.Handler.Prebind), for Strophe.js or
	// Converse.js to attach to. An error wrapping a *bridge.CloseError is
	// answered as a failed login is. Nil refuses them.
	PrebindBOSH func(ctx context.Context, a Account) (BOSHPrebound, error)
	// TokenTTL is how long a prebind token may wait to be redeemed. Zero
	// means 60 seconds.
	TokenTTL time.Duration
	// MaxFrameBytes is the largest frame accepted from the browser, and
	// the largest stanza it may translate to. Zero means 256 KiB.
	MaxFrameBytes int
	// QueueBytes bounds the frames kept for one browser (unsent, or sent and
	// not yet acknowledged). Zero means 1 MiB.
	QueueBytes int
	// Wait is the longest a poll is held; a client may ask for less. Zero
	// means 30 seconds.
	Wait time.Duration
	// Hold is the most polls held at once per session; a client may ask
	// for fewer. Zero means 1.
	Hold int
	// Inactivity detaches an HTTP session that has no poll, post or events
	// stream for this long: its page went away (see ResumeWindow). Zero
	// means 60 seconds.
	Inactivity time.Duration
	// MaxPause is the longest pause a poll may ask for. Zero means 120
	// seconds.
	MaxPause time.Duration
	// Heartbeat is how often an events stream with nothing to say sends a
	// comment. Zero means 15 seconds.
	Heartbeat time.Duration
	// Padding is the size of the comment an events stream starts with, for
	// proxies that buffer the start of a response. Zero means 2 KiB;
	// negative means none.
	Padding int
	// PingInterval is how often an idle WebSocket is pinged; a browser
	// silent for twice as long is gone. Zero means 30 seconds.
	PingInterval time.Duration
	// WriteTimeout bounds every write to the browser. Zero means 10 seconds.
	WriteTimeout time.Duration
	// ResumeKey signs resume tokens (docs/json-api.md, "Resuming a
	// session"); bridges that share it take each other's tokens. At least
	// 32 bytes. Nil means a random key: tokens work with this Handler only.
	ResumeKey []byte
	// ResumeWindow is how long a session whose page went away waits for it
	// to resume. Zero means DefaultResumeWindow; negative, none (the
	// session ends).
	ResumeWindow time.Duration
	// SIDPrefix starts the sid of every session a login or a resume
	// opens over the HTTP transports: a cluster's node name and a dot
	// (package internal/cluster), so that any bridge can tell whose
	// session a request is for. Empty means none.
	SIDPrefix string
	// OnReject, if set, hears of every request refused with an error, with
	// the HTTP status (0 on an open WebSocket) and the error code and text.
	OnReject func(r *http.Request, status int, code, text string)
}

// Handler serves the JSON API under one base path: ws, events, send, poll
// and prebind, exactly (see endpoint). Mount it at a path ending in "/",
// or with http.StripPrefix.
type Handler struct {
	cfg    Config
	ws     *wsconn.Server  // the WebSockets' machinery and goroutines
	ctx    context.Context // from BaseContext; cancelled when Shutdown ends
	cancel context.CancelFunc
	tokens tokens
	stats  resumeStats // stats.go

	mu       sync.Mutex
	sessions map[string]*session   // HTTP transports, by sid
	sockets  map[*session]*wsConn  // sessions without a sid; nil while detached
	byKey    map[[16]byte]*session // every session logged in, for resumes
	aead     cipher.AEAD           // seals resume tokens
	adopting map[[16]byte]bool     // sessions of other processes being resumed
	closing  bool
	active   int           // requests being served: WebSockets, posts, streams
	drained  chan struct{} // closed when active drops to 0 while closing
}

// New returns a Handler.
func New(cfg Config) *Handler {
	if cfg.TokenTTL <= 0 {
		cfg.TokenTTL = DefaultTokenTTL
	}
	if cfg.MaxFrameBytes <= 0 {
		cfg.MaxFrameBytes = xmppclient.DefaultMaxStanzaBytes
	}
	if cfg.QueueBytes <= 0 {
		cfg.QueueBytes = bridge.DefaultQueueBytes
	}
	if cfg.Wait <= 0 {
		cfg.Wait = DefaultWait
	}
	if cfg.Hold <= 0 {
		cfg.Hold = 1
	}
	if cfg.Inactivity <= 0 {
		cfg.Inactivity = DefaultInactivity
	}
	if cfg.MaxPause <= 0 {
		cfg.MaxPause = 120 * time.Second
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.Padding == 0 {
		cfg.Padding = 2048
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = wsconn.DefaultPingInterval
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = wsconn.DefaultWriteTimeout
	}
	if cfg.CheckOrigin == nil {
		cfg.CheckOrigin = origin.Same
	}
	if cfg.BaseContext == nil {
		cfg.BaseContext = context.Background()
	}
	if len(cfg.ResumeKey) == 0 {
		cfg.ResumeKey = newResumeKey()
	}
	aead := tokenAEAD(cfg.ResumeKey)
	if cfg.ResumeWindow == 0 {
		cfg.ResumeWindow = DefaultResumeWindow
	}
	h := &Handler{cfg: cfg, aead: aead, sessions: make(map[string]*session), sockets: make(map[*session]*wsConn), byKey: make(map[[16]byte]*session), adopting: make(map[[16]byte]bool)}
	h.ctx, h.cancel = context.WithCancel(cfg.BaseContext)
	h.ws = wsconn.NewServer(wsconn.Config{
		BaseContext:  cfg.BaseContext,
		PingInterval: cfg.PingInterval,
		WriteTimeout: cfg.WriteTimeout,
		// The limit is on stanzas as XML (send checks it, with a too-large
		// error frame); JSON escaping may make a frame longer than that.
		MaxMessage:   cfg.MaxFrameBytes*2 + 4096,
		Subprotocols: []string{Subprotocol},
		OnUpgradeError: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			h.reject(w, r, status, errBadRequest, reason.Error())
		},
	})
	return h
}

// ServeHTTP routes by the last element of the path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := endpoint(r)
	if name == "prebind" {
		// Called by a web application's backend, not a browser: no CORS.
		h.prebind(w, r)
		return
	}
	if r.Method == http.MethodOptions {
		h.preflight(w, r)
		return
	}
	if !h.cfg.CheckOrigin(r) {
		h.reject(w, r, http.StatusForbidden, errPolicy, "origin not allowed: "+r.Header.Get("Origin"))
		return
	}
	h.cors(w.Header(), r)
	switch name {
	case "ws":
		h.serveWebSocket(w, r)
	case "events":
		if r.Method != http.MethodGet {
			h.methodNotAllowed(w, r, "GET")
			return
		}
		h.serveEvents(w, r)
	case "send", "poll":
		if r.Method != http.MethodPost {
			h.methodNotAllowed(w, r, "POST")
			return
		}
		h.servePost(w, r, name == "poll")
	default:
		h.reject(w, r, http.StatusNotFound, errItemNotFound, "no such endpoint: "+r.URL.Path)
	}
}

// endpoint is the name of the endpoint r asks for: its path below the
// ServeMux pattern that routed it to the Handler ("/json/ws" under
// "/json/" is "ws"), or, without one (http.StripPrefix), below "/". A path
// with more segments, such as "/json/x/ws", names no endpoint.
func endpoint(r *http.Request) string {
	pattern := r.Pattern
	if i := strings.LastIndexByte(pattern, ' '); i >= 0 {
		pattern = pattern[i+1:] // "POST /json/"
	}
	if i := strings.IndexByte(pattern, '/'); i > 0 {
		pattern = pattern[i:] // "example.com/json/"
	}
	rest, ok := strings.CutPrefix(r.URL.Path, pattern)
	if pattern == "" || !ok {
		rest = strings.TrimPrefix(r.URL.Path, "/")
	}
	if strings.IndexByte(rest, '/') >= 0 {
		return ""
	}
	return rest
}

func (h *Handler) methodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow+", OPTIONS")
	h.reject(w, r, http.StatusMethodNotAllowed, errBadRequest, r.Method+" is not served here")
}

// reject answers with a JSON error frame.
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, status int, code, text string) {
	h.refuse(w, r, &apiError{code: code, text: text}, status)
}

// refuse answers a request with e's error frame, which names the frame it
// refuses, and status (0: the one of e's code).
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, e *apiError, status int) {
	if status == 0 {
		status = httpStatus(e.code)
	}
	if h.cfg.OnReject != nil {
		h.cfg.OnReject(r, status, e.code, e.text)
	}
	// A deadline of its own: the one the body was read under has passed
	// when the refusal took longer, as a login or a resume upstream may,
	// and the page would get no answer at all.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout))
	writeJSON(w, status, errorFrame(nil, e.code, truncate(e.id), e.text))
}

func writeJSON(w http.ResponseWriter, status int, b []byte) {
	hd := w.Header()
	for k, v := range jsonHeader() {
		hd[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (h *Handler) preflight(w http.ResponseWriter, r *http.Request) {
	if !h.cfg.CheckOrigin(r) {
		h.reject(w, r, http.StatusForbidden, errPolicy, "origin not allowed: "+r.Header.Get("Origin"))
		return
	}
	hd := w.Header()
	h.cors(hd, r)
	hd.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	hd.Set("Access-Control-Allow-Headers", "Content-Type, Last-Event-ID")
	hd.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) cors(hd http.Header, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" {
		hd.Set("Access-Control-Allow-Origin", o)
		hd.Add("Vary", "Origin")
	}
}

// enter counts a request in, unless the handler is shutting down and the
// request is for a new session: a request of an existing one is served
// during the drain, so that it hears the session's end.
func (h *Handler) enter(existing bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing && !existing {
		return false
	}
	h.active++
	return true
}

// leave counts a request out.
func (h *Handler) leave() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.active--
	if h.active == 0 && h.drained != nil {
		close(h.drained)
		h.drained = nil
	}
}

func newSID() string {
	var b [16]byte // 128 bits
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (h *Handler) newSession(sid string) *session {
	if sid != "" {
		sid = h.cfg.SIDPrefix + sid
	}
	s := &session{h: h, sid: sid, next: 1}
	_, _ = rand.Read(s.key[:])
	// The engine orders the HTTP transports' posts (create configures it);
	// on every transport its lock is the session's.
	s.lp = longpoll.New(longpoll.Params{Wait: h.cfg.Wait, Hold: h.cfg.Hold, Requests: h.cfg.Hold + 1, Inactivity: h.cfg.Inactivity}, s, 0)
	return s
}

// register makes s findable by its sid.
func (h *Handler) register(s *session) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	h.sessions[s.sid] = s
	return true
}

func (h *Handler) lookup(sid string) *session {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.sessions[sid]
}

func (h *Handler) forget(s *session) {
	h.mu.Lock()
	if h.sessions[s.sid] == s {
		delete(h.sessions, s.sid)
	}
	delete(h.sockets, s)
	if h.byKey[s.key] == s {
		delete(h.byKey, s.key)
	}
	h.mu.Unlock()
}

// keep makes s findable by a resume.
func (h *Handler) keep(s *session) {
	h.mu.Lock()
	h.byKey[s.key] = s
	h.mu.Unlock()
}

// rename moves a session that resumed: to the HTTP transports under a new
// sid (the old one finds nothing), or, with sid "", to a WebSocket, which
// attaches itself.
func (h *Handler) rename(s *session, sid string) {
	h.mu.Lock()
	if h.sessions[s.sid] == s {
		delete(h.sessions, s.sid)
	}
	delete(h.sockets, s)
	if sid != "" {
		h.sessions[sid] = s
	}
	h.mu.Unlock()
}

// Len is the number of sessions held, detached ones included.
func (h *Handler) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.sessions) + len(h.sockets)
}

// Shutdown ends every session with system-shutdown, lets the browsers hear
// it (held polls and events streams are answered, WebSockets closed), and
// waits for that until ctx is done.
func (h *Handler) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	done := make(chan struct{})
	if h.active == 0 {
		close(done)
	} else {
		h.drained = done
	}
	list := make([]*session, 0, len(h.sessions)+len(h.sockets))
	for _, s := range h.sessions {
		list = append(list, s)
	}
	for s := range h.sockets {
		list = append(list, s)
	}
	h.mu.Unlock()
	list = append(list, h.tokens.all()...)
	for _, s := range list {
		if s.bs != nil {
			s.bs.End(&bridge.CloseError{Reason: bridge.ReasonShutdown})
		}
	}
	select {
	case <-done:
		h.cancel()
		return nil
	case <-ctx.Done():
	}
	// Cut what is left: held polls are answered, events streams closed,
	// writers see h.ctx, readers their connection's close.
	h.cancel()
	for _, s := range list {
		s.lp.Lock()
		if s.events != nil {
			s.stopStreamLocked(s.events)
		}
		s.lp.EndLocked(jsonResponse(http.StatusServiceUnavailable, errorFrame(nil, errShutdown, "", "the bridge is shutting down")))
		s.lp.Unlock()
	}
	h.ws.Cut()
	h.mu.Lock()
	for _, wc := range h.sockets {
		if wc != nil {
			wc.c.Close()
		}
	}
	h.mu.Unlock()
	<-done
	return ctx.Err()
}

// readBody reads a POST body up to the limit, within WriteTimeout.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	limit := h.cfg.MaxFrameBytes*2 + 4096
	b, err := httphold.ReadBody(w, r, nil, limit, 0, h.cfg.WriteTimeout)
	switch {
	case errors.Is(err, httphold.ErrTooLarge):
		return nil, &apiError{code: errTooLarge, text: "request body over the size limit"}
	case err != nil:
		return nil, &apiError{code: errBadRequest, text: "reading the request: " + err.Error()}
	}
	return b, nil
}
