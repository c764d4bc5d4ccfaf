package main

import (
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/health"
)

// The health endpoints. They are on the main listener, beside the
// transports, where load balancers look; a listener added later (for
// metrics, say) mounts the same Checker's handlers too.
const (
	healthzPath = "/healthz"
	readyzPath  = "/readyz"
)

// newChecker returns the daemon's readiness, which needs each [domain]
// table's address to accept TCP connections (domains found by SRV lookup
// are not tried: which server a lookup finds is not the bridge's to
// check). Servers that become unreachable or reachable again are logged,
// as /readyz names only the domain.
func newChecker(cfg *Config, log *slog.Logger) *health.Checker {
	var targets []health.Target
	for _, name := range slices.Sorted(maps.Keys(cfg.Domains)) {
		if addr := cfg.Domains[name].Address; addr != "" {
			targets = append(targets, health.Target{Name: name, Addr: addr})
		}
	}
	return health.New(health.Config{
		Targets: targets,
		OnChange: func(t health.Target, err error) {
			if err != nil {
				log.Warn("server unreachable: not ready", "domain", t.Name, "addr", t.Addr, "err", err)
			} else {
				log.Info("server reachable again", "domain", t.Name, "addr", t.Addr)
			}
		},
	})
}

// mountHealth serves the Checker's endpoints on mux.
func mountHealth(mux *http.ServeMux, c *health.Checker) {
	mux.Handle(healthzPath, c.Live())
	mux.Handle(readyzPath, c.Ready())
}

// lameDuck makes the daemon not ready and keeps serving for d, so that
// load balancers stop sending new clients before the listener closes. It
// returns early if serving fails.
func lameDuck(c *health.Checker, d time.Duration, served <-chan error, log *slog.Logger) error {
	c.Drain()
	if d <= 0 {
		return nil
	}
	log.Info("lame duck: not ready, still serving", "for", d)
	select {
	case <-time.After(d):
		return nil
	case err := <-served:
		return err
	}
}
