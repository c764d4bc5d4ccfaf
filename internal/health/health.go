package health

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Target is a server the daemon needs: it is ready only while Addr accepts
// TCP connections.
type Target struct {
	// Name says what the server is for, such as its XMPP domain; it is
	// what /readyz names when the server is unreachable.
	Name string
	// Addr is the host:port to connect to.
	Addr string
}

// Config configures a Checker. The zero value of each field is its
// documented default.
type Config struct {
	// Targets must each accept a TCP connection for the daemon to be
	// ready. None: readiness is only serving and not draining.
	Targets []Target
	// Timeout bounds each connection attempt. Zero means DefaultTimeout.
	Timeout time.Duration
	// CacheFor is how long the answer of one round of connection attempts
	// stands. Zero means DefaultCacheFor.
	CacheFor time.Duration
	// Dial connects to a target. Nil means a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// OnChange, if set, hears when a target becomes unreachable (err is
	// why) or reachable again (err nil); for logs, as /readyz names only
	// the target. Targets start out taken as reachable. It is called from
	// the round that saw the change and must not block.
	OnChange func(t Target, err error)
}

// Defaults of Config.
const (
	DefaultTimeout  = 2 * time.Second
	DefaultCacheFor = 5 * time.Second
)

// Checker keeps the daemon's readiness and serves the health endpoints.
type Checker struct {
	cfg      Config
	serving  atomic.Bool
	draining atomic.Bool

	// turn is held, by a send, for a whole round and while reading its
	// results, so that rounds never overlap: those who wait for it
	// take the answer of the round they waited for. A channel rather
	// than a sync.Mutex so that a wait for it is durably blocking under
	// testing/synctest.
	turn    chan struct{}
	checked time.Time // end of the latest round; zero before the first
	down    []error   // by target: nil when reachable in the latest round
}

// New returns a Checker that is not yet ready: call Serving once the
// listener accepts connections.
func New(cfg Config) *Checker {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.CacheFor <= 0 {
		cfg.CacheFor = DefaultCacheFor
	}
	if cfg.Dial == nil {
		cfg.Dial = (&net.Dialer{}).DialContext
	}
	return &Checker{cfg: cfg, turn: make(chan struct{}, 1), down: make([]error, len(cfg.Targets))}
}

// Serving records that the listener accepts connections.
func (c *Checker) Serving() { c.serving.Store(true) }

// Drain makes the daemon not ready from now on, for good: the first step of
// a shutdown, so that load balancers stop sending new clients (a lame
// duck) while the sessions already open are still served.
func (c *Checker) Drain() { c.draining.Store(true) }

// NotReady says why the daemon should not get new clients, one reason a
// string; empty means ready. It connects to the targets when the answer of
// the latest round is older than CacheFor, and not at all while the daemon
// is not serving or is draining.
func (c *Checker) NotReady() []string {
	switch {
	case c.draining.Load():
		return []string{"draining"}
	case !c.serving.Load():
		return []string{"not serving yet"}
	}
	c.turn <- struct{}{}
	defer func() { <-c.turn }()
	if c.checked.IsZero() || time.Since(c.checked) >= c.cfg.CacheFor {
		c.round()
	}
	var why []string
	for i, err := range c.down {
		if err != nil {
			why = append(why, c.cfg.Targets[i].Name+": server unreachable")
		}
	}
	return why
}

// round tries every target at once; the caller holds c.turn.
func (c *Checker) round() {
	errs := make([]error, len(c.cfg.Targets))
	var wg sync.WaitGroup
	for i, t := range c.cfg.Targets {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), c.cfg.Timeout)
			defer cancel()
			conn, err := c.cfg.Dial(ctx, "tcp", t.Addr)
			if err == nil {
				conn.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if c.cfg.OnChange != nil && (err == nil) != (c.down[i] == nil) {
			c.cfg.OnChange(c.cfg.Targets[i], err)
		}
	}
	c.down = errs
	c.checked = time.Now()
}

// status is the body of both endpoints.
type status struct {
	Status   string   `json:"status"`
	NotReady []string `json:"not_ready,omitempty"`
}

// Live serves liveness: 200 whenever the process can answer at all.
func (c *Checker) Live() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		write(w, r, http.StatusOK, status{Status: "up"})
	})
}

// Ready serves readiness: 200 when ready, else 503 with the reasons.
func (c *Checker) Ready() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if why := c.NotReady(); len(why) > 0 {
			write(w, r, http.StatusServiceUnavailable, status{Status: "not ready", NotReady: why})
			return
		}
		write(w, r, http.StatusOK, status{Status: "ready"})
	})
}

// write answers with body as JSON, never cached; anything but GET and HEAD
// is 405.
func write(w http.ResponseWriter, r *http.Request, code int, body any) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "health: only GET and HEAD", http.StatusMethodNotAllowed)
		return
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if r.Method == http.MethodGet {
		_ = json.NewEncoder(w).Encode(body)
	}
}
