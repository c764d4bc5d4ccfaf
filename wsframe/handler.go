package wsframe

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/origin"
	"github.com/xmppbridge/xmppbridge/internal/wsconn"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// Subprotocol is the WebSocket subprotocol RFC 7395 registers.
const Subprotocol = "xmpp"

// Config configures a Handler. The zero value of each field but Hub is its
// documented default.
type Config struct {
	// Hub opens the upstream sessions. Required.
	Hub *bridge.Hub
	// BaseContext is the context that the opening of every session
	// derives from (its dial): when it is done, those under way stop, and
	// so do the closing handshakes, as when Shutdown gives up waiting. Nil
	// means context.Background().
	BaseContext context.Context
	// CheckOrigin says whether a browser Origin may connect. Nil allows
	// requests without an Origin header and same-origin requests (the
	// Origin's host equals the request's Host).
	CheckOrigin func(r *http.Request) bool
	// MaxStanzaBytes is the largest message accepted from the browser;
	// a larger one ends the stream with policy-violation and close code
	// 1009. Zero means 256 KiB.
	MaxStanzaBytes int
	// PingInterval is how often an idle connection is pinged; a browser
	// silent for twice as long is gone. Zero means 30 seconds.
	PingInterval time.Duration
	// WriteTimeout bounds every write to the browser. Zero means 10 seconds.
	WriteTimeout time.Duration
	// DrainURI, if set, is where browsers are sent when the bridge shuts
	// down (<close see-other-uri='…'/>, RFC 7395 §3.6.1) instead of a
	// system-shutdown stream error: another bridge, or the balancer in
	// front of them.
	DrainURI string
	// SeeOtherURI, if set, is asked at each new stream; a non-empty answer
	// sends the browser there with <close see-other-uri='…'/> (RFC 7395
	// §3.6.1) instead of opening a session.
	SeeOtherURI func(domain string) string
	// OnReject, if set, hears of every request refused before the upgrade,
	// with the HTTP status and the reason given to the client.
	OnReject func(r *http.Request, status int, reason string)
}

// Handler serves RFC 7395 WebSocket connections.
type Handler struct {
	cfg    Config
	srv    *wsconn.Server  // the connections' machinery and goroutines
	ctx    context.Context // from BaseContext; cancelled when Shutdown gives up waiting
	cancel context.CancelFunc

	mu      sync.Mutex
	conns   map[*conn]struct{}
	closing bool
}

// Defaults of the Config fields whose zero value means one.
const (
	DefaultPingInterval = wsconn.DefaultPingInterval
	DefaultWriteTimeout = wsconn.DefaultWriteTimeout
)

// New returns a Handler.
func New(cfg Config) *Handler {
	if cfg.MaxStanzaBytes <= 0 {
		cfg.MaxStanzaBytes = xmppclient.DefaultMaxStanzaBytes
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = DefaultPingInterval
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.CheckOrigin == nil {
		cfg.CheckOrigin = origin.Same
	}
	if cfg.BaseContext == nil {
		cfg.BaseContext = context.Background()
	}
	h := &Handler{cfg: cfg, conns: make(map[*conn]struct{})}
	h.ctx, h.cancel = context.WithCancel(cfg.BaseContext)
	h.srv = wsconn.NewServer(wsconn.Config{
		BaseContext:  cfg.BaseContext,
		PingInterval: cfg.PingInterval,
		WriteTimeout: cfg.WriteTimeout,
		MaxMessage:   cfg.MaxStanzaBytes,
		Subprotocols: []string{Subprotocol},
		OnUpgradeError: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			h.reject(w, r, status, "xmppbridge: "+reason.Error())
		},
	})
	return h
}

// ServeHTTP upgrades the request and starts the connection's read loop.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsWebSocketUpgrade(r) {
		h.reject(w, r, http.StatusBadRequest, "xmppbridge: this endpoint speaks XMPP over WebSocket (RFC 7395) only")
		return
	}
	if !hasSubprotocol(r) {
		h.reject(w, r, http.StatusBadRequest, "xmppbridge: the WebSocket subprotocol 'xmpp' is required (RFC 7395)")
		return
	}
	if !h.cfg.CheckOrigin(r) {
		h.reject(w, r, http.StatusForbidden, "xmppbridge: origin not allowed: "+r.Header.Get("Origin"))
		return
	}
	h.mu.Lock()
	closing := h.closing
	h.mu.Unlock()
	if closing {
		h.reject(w, r, http.StatusServiceUnavailable, "xmppbridge: shutting down")
		return
	}
	var fc *conn
	wc := h.srv.Upgrade(w, r, func(wc *wsconn.Conn) wsconn.Framing {
		fc = &conn{h: h, c: wc, client: r.RemoteAddr}
		return fc
	})
	if wc == nil {
		return // the upgrader has answered
	}
	h.mu.Lock()
	if h.closing {
		h.mu.Unlock()
		// Shutdown began during the upgrade and did not see this one: it
		// hears system-shutdown all the same, from this goroutine, the
		// only one that knows of it.
		fc.writeEnd(&bridge.CloseError{Reason: bridge.ReasonShutdown})
		wc.Close()
		return
	}
	h.conns[fc] = struct{}{}
	wc.Start() // counted before Shutdown can begin waiting
	h.mu.Unlock()
}

func (h *Handler) reject(w http.ResponseWriter, r *http.Request, status int, reason string) {
	if h.cfg.OnReject != nil {
		h.cfg.OnReject(r, status, reason)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(reason + "\n"))
}

func (h *Handler) forget(c *conn) {
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
}

// Shutdown refuses new connections, ends the streams of connections that
// have no session yet with system-shutdown (sessions are ended by the
// Hub's Shutdown, which should run first) and waits until every connection
// is closed or ctx is done; then it cuts what is left.
func (h *Handler) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closing = true
	list := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		list = append(list, c)
	}
	h.mu.Unlock()
	for _, c := range list {
		c.end(&bridge.CloseError{Reason: bridge.ReasonShutdown})
	}
	done := make(chan struct{})
	go func() {
		h.srv.WG.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	h.cancel()
	h.srv.Cut()
	for _, c := range list {
		c.c.Close()
	}
	<-done
	return ctx.Err()
}

func hasSubprotocol(r *http.Request) bool {
	for _, p := range websocket.Subprotocols(r) {
		if p == Subprotocol {
			return true
		}
	}
	return false
}
