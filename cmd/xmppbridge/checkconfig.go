package main

import (
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/discovery"
)

// checkConfig is -check-config: it loads the file at path as the daemon
// would, and returns the error naming every problem, or writes to w what
// the configuration would serve.
func checkConfig(w io.Writer, path string) error {
	cfg, err := Load(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: OK\n", path)
	writeSummary(w, &cfg)
	return nil
}

// writeSummary says, one line a thing, what cfg serves and where it
// reaches: what an operator checks before a restart.
func writeSummary(w io.Writer, cfg *Config) {
	line := func(what, format string, args ...any) {
		fmt.Fprintf(w, "  %-10s %s\n", what, fmt.Sprintf(format, args...))
	}
	if cfg.listenCert != nil {
		line("listen", "https://%s (certificate for %s, expires %s)", cfg.Listen, strings.Join(cfg.listenCert.Leaf.DNSNames, ", "), cfg.listenCert.Leaf.NotAfter.UTC().Format(time.DateOnly))
	} else {
		line("listen", "http://%s", cfg.Listen)
	}
	line("websocket", "%s", cfg.WebSocket.Path)
	line("bosh", "%s", cfg.BOSH.Path)
	prebind := "prebind off"
	if cfg.JSON.PrebindSecret != "" {
		prebind = "prebind on"
	}
	passwords := "passwords only over TLS or from loopback"
	if cfg.JSON.AllowInsecurePassword {
		passwords = "passwords over plain HTTP too"
	}
	line("json", "%s/ (%s; %s)", cfg.JSON.Path, prebind, passwords)
	lame := "none"
	if cfg.LameDuck.Duration > 0 {
		lame = cfg.LameDuck.Duration.String()
	}
	discover := "from each request's scheme and Host"
	if cfg.PublicURL != "" {
		discover = "below " + cfg.PublicURL
	}
	line("discovery", "%s, %s: endpoints %s", discovery.HostMetaPath, discovery.HostMetaJSONPath, discover)
	line("health", "%s, %s (lame duck: %s)", healthzPath, readyzPath, lame)
	if addr := cfg.Metrics.Addr(); addr != "" {
		line("metrics", "http://%s%s (and %s, %s)", addr, metricsPath, healthzPath, readyzPath)
	} else {
		line("metrics", "off")
	}
	if *cfg.Web.Demo {
		line("demo", "/")
	}
	if len(cfg.TrustedProxies) > 0 {
		how := "Forwarded, X-Forwarded-For/-Proto"
		if cfg.ProxyProtocol {
			how += ", PROXY protocol"
		}
		line("proxies", "%s (%s)", strings.Join(cfg.TrustedProxies, ", "), how)
	}
	if len(cfg.Origins) == 0 {
		line("origins", "same origin only (%s)", ownHosts(cfg))
	} else {
		line("origins", "%s and the same origin (%s)", strings.Join(cfg.Origins, ", "), ownHosts(cfg))
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Domains)) {
		d := cfg.Domains[name]
		addr := d.Address
		if addr == "" {
			addr = "SRV lookup"
		}
		line("domain", "%s → %s (%s)", name, addr, d.Security)
	}
	if *cfg.AllowAnyDomain {
		line("domain", "any other → SRV lookup (starttls, public addresses only)")
	}
	if cfg.Cluster.Node != "" {
		line("cluster", "node %s; peers %s", cfg.Cluster.Node, strings.Join(slices.Sorted(maps.Keys(cfg.Cluster.Peers)), ", "))
	}
	line("limits", "%d sessions, %d-byte stanzas, %d-byte queues", cfg.Limits.MaxSessions, cfg.Limits.MaxStanzaBytes, cfg.Limits.QueueBytes)
	l := &cfg.Limits
	line("per client", "%s sessions, %s opens a minute; login within %v; %s for logged-in sessions",
		bound(l.SessionsPerAddress), bound(l.OpensPerMinute), l.AuthTimeout.Duration, bound(l.ReservedSessions))
	refused := "never refused"
	if l.FailedLoginsRefused > 0 {
		refused = fmt.Sprintf("refused after %d", l.FailedLoginsRefused)
	}
	line("logins", "%d failures free, then waits of %v to %v; addresses %s, for %v",
		l.FailedLoginsFree, l.FailedLoginDelay.Duration, l.FailedLoginMaxDelay.Duration, refused, l.FailedLoginsForget.Duration)
}

// bound is a count of [limits], where -1 is none.
func bound(n int) string {
	if n < 0 {
		return "unbounded"
	}
	return fmt.Sprint(n)
}

// ownHosts names the hosts under which a same-origin page is trusted.
func ownHosts(cfg *Config) string {
	hosts := "IP addresses, localhost"
	if cfg.PublicURL != "" {
		if u, err := url.Parse(cfg.PublicURL); err == nil {
			hosts += ", " + u.Hostname()
		}
	}
	return hosts
}
