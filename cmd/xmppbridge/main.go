// Command xmppbridge puts web browsers on existing XMPP servers: it serves
// XMPP over WebSocket (RFC 7395) and BOSH (XEP-0124/0206), a JSON API with
// bridge-side login (docs/json-api.md) and a demo chat page, and keeps one
// upstream client-to-server stream per browser user.
//
// Usage:
//
//	xmppbridge [-config FILE] [-listen ADDR] [-metrics ADDR] [-pprof ADDR]
//	xmppbridge -check-config FILE
//	xmppbridge -version
//
// With no -config it runs on built-in defaults: HTTP on 127.0.0.1:5280 and
// any XMPP domain reached by SRV lookup with verified STARTTLS, and
// Prometheus metrics on 127.0.0.1:9465. See xmppbridge.example.toml for
// every setting.
//
// -check-config reads FILE as the daemon would and either prints every
// problem in it at once and exits with status 1, or prints what it would
// serve. -version prints the module version and the VCS revision the
// binary was built from.
//
// Signals: SIGINT and SIGTERM drain: /readyz turns 503 first, everything
// is still served for lame_duck, then the listener closes and the sessions
// end within shutdown_timeout. SIGHUP reads the configuration file again:
// the allowed origins, log level, domain tables, [upstream] and [tls]
// apply to new sessions at once (a file with problems changes nothing and
// is logged), other changed settings are logged as needing a restart; and
// it reads the listener's certificate (tls_cert_file, tls_key_file) again.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/xmppbridge/xmppbridge/bosh"
	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/clientip"
	"github.com/xmppbridge/xmppbridge/internal/httphold"
	"github.com/xmppbridge/xmppbridge/jsonapi"
	"github.com/xmppbridge/xmppbridge/web"
	"github.com/xmppbridge/xmppbridge/wsframe"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// logOutput is where the daemon logs; tests read it.
var logOutput io.Writer = os.Stderr

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], nil); err != nil {
		// A configuration error is a problem a line.
		for line := range strings.Lines(err.Error()) {
			fmt.Fprint(os.Stderr, "xmppbridge: ", line)
		}
		fmt.Fprintln(os.Stderr)
		os.Exit(1)
	}
}

// run starts the daemon and returns when ctx is done and the drain is over.
// ready, if set, receives the listening address once the server accepts
// connections.
func run(ctx context.Context, args []string, ready chan<- string) error {
	fs := flag.NewFlagSet("xmppbridge", flag.ContinueOnError)
	configPath := fs.String("config", "", "TOML configuration `file` (default: built-in defaults)")
	listen := fs.String("listen", "", "HTTP listen `address`, overriding the configuration")
	metricsAddr := fs.String("metrics", "", "metrics listen `address`, overriding [metrics] listen; \"off\" turns them off")
	pprofAddr := fs.String("pprof", "", "serve net/http/pprof on this loopback `address` (for profiling)")
	checkPath := fs.String("check-config", "", "check the configuration `file`, say what it would serve, and exit")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case *showVersion:
		fmt.Println(version(debug.ReadBuildInfo()))
		return nil
	case *checkPath != "":
		return checkConfig(os.Stdout, *checkPath)
	}
	cfg := Default()
	if *configPath != "" {
		var err error
		if cfg, err = Load(*configPath); err != nil {
			return err
		}
	}
	overrides := func(cfg *Config) {
		if *listen != "" {
			cfg.Listen = *listen
		}
		if *metricsAddr != "" {
			cfg.Metrics.Listen = metricsAddr
		}
	}
	overrides(&cfg)
	// SIGHUP reads the file again for what can change live (reload.go)
	// and the listener's certificate; a problem is logged, never the end
	// of the daemon.
	lv := newLive(&cfg, *configPath, overrides)
	log := slog.New(slog.NewTextHandler(logOutput, &slog.HandlerOptions{Level: &lv.level}))
	var cert *listenerCert
	if cfg.listenCert != nil {
		cert = newListenerCert(&cfg)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reloadCtx, stopReload := context.WithCancel(ctx)
	waitReload := reloadOn(reloadCtx, hup, lv, cert, log)
	defer func() { stopReload(); waitReload() }()
	if *pprofAddr != "" {
		if err := servePprof(ctx, *pprofAddr, log); err != nil {
			return err
		}
	}

	// What one client may take; its Stats, and the Hub's LimitStats,
	// count what was refused, for metrics.
	limiter := cfg.Limits.limiter()
	var m *metrics
	if cfg.Metrics.Addr() != "" {
		m = newMetrics()
	}
	hub := bridge.New(bridge.Config{
		Upstream:    m.observing(lv.upstream),
		MaxSessions: cfg.Limits.MaxSessions,
		QueueBytes:  cfg.Limits.QueueBytes,
		OnEnd:       logEnd(log),
		OnFault:     logFault(log),
		Limits:      limiter,
		Reserved:    cfg.Limits.ReservedSessions,
		AuthTimeout: cfg.Limits.AuthTimeout.Duration,
		OnLogin:     logLogin(log),
	})
	var sidPrefix string
	if cfg.Cluster.Node != "" {
		sidPrefix = cfg.Cluster.Node + "."
	}
	checkOrigin := lv.checkOrigin
	// The transports open their sessions under base, which the drain cuts
	// when it runs out of time (as each handler's Shutdown then does) and
	// run's return cuts at the latest. It keeps ctx's values but not its
	// end: while the lame duck lasts, new sessions still open.
	base, cut := context.WithCancel(context.WithoutCancel(ctx))
	defer cut()
	ws := wsframe.New(wsframe.Config{
		Hub:            hub,
		BaseContext:    base,
		CheckOrigin:    checkOrigin,
		MaxStanzaBytes: cfg.Limits.MaxStanzaBytes,
		PingInterval:   cfg.WebSocket.PingInterval.Duration,
		WriteTimeout:   cfg.WebSocket.WriteTimeout.Duration,
		DrainURI:       cfg.WebSocket.DrainURL,
		OnReject: func(r *http.Request, status int, reason string) {
			log.Info("websocket refused", "remote", r.RemoteAddr, "status", status, "reason", reason)
		},
	})
	bh := bosh.New(bosh.Config{
		Hub:              hub,
		BaseContext:      base,
		CheckOrigin:      checkOrigin,
		AllowCredentials: cfg.BOSH.AllowCredentials,
		CORSMaxAge:       cfg.BOSH.CORSMaxAge.Duration,
		MaxWait:          cfg.BOSH.MaxWait.Duration,
		MaxHold:          cfg.BOSH.MaxHold,
		Requests:         cfg.BOSH.Requests,
		Inactivity:       cfg.BOSH.Inactivity.Duration,
		Polling:          cfg.BOSH.Polling.Duration,
		MaxPause:         cfg.BOSH.MaxPause.Duration,
		MaxStanzaBytes:   cfg.Limits.MaxStanzaBytes,
		MaxBodyBytes:     cfg.BOSH.MaxBodyBytes,
		WriteTimeout:     cfg.BOSH.WriteTimeout.Duration,
		DrainURI:         cfg.BOSH.DrainURL,
		Route:            routeFor(&cfg),
		SIDPrefix:        sidPrefix,
		OnReject: func(r *http.Request, status int, condition, reason string) {
			// Expired sessions make these routine: debug, not info.
			if log.Enabled(r.Context(), slog.LevelDebug) {
				log.Debug("bosh request refused", "remote", r.RemoteAddr, "status", status, "condition", condition, "reason", reason)
			}
		},
	})
	jh := jsonapi.New(jsonapi.Config{
		Hub:                   hub,
		BaseContext:           base,
		CheckOrigin:           checkOrigin,
		AllowInsecurePassword: cfg.JSON.AllowInsecurePassword,
		PrebindSecret:         cfg.JSON.PrebindSecret,
		PrebindBOSH:           prebindBOSH(bh),
		TokenTTL:              cfg.JSON.TokenTTL.Duration,
		MaxFrameBytes:         cfg.Limits.MaxStanzaBytes,
		QueueBytes:            cfg.Limits.QueueBytes,
		Wait:                  cfg.JSON.MaxWait.Duration,
		Inactivity:            cfg.JSON.Inactivity.Duration,
		ResumeWindow:          resumeWindow(cfg.JSON),
		ResumeKey:             []byte(cfg.JSON.ResumeKey),
		Heartbeat:             cfg.JSON.Heartbeat.Duration,
		PingInterval:          cfg.WebSocket.PingInterval.Duration,
		WriteTimeout:          cfg.WebSocket.WriteTimeout.Duration,
		SIDPrefix:             sidPrefix,
		OnReject: func(r *http.Request, status int, code, text string) {
			if log.Enabled(r.Context(), slog.LevelDebug) {
				log.Debug("json request refused", "remote", r.RemoteAddr, "status", status, "code", code, "reason", text)
			}
		},
	})
	checker := newChecker(&cfg, log)
	m.watch(hub, bh, jh)
	mux := http.NewServeMux()
	mountHealth(mux, checker)
	mountDiscovery(mux, &cfg)
	mux.Handle(cfg.WebSocket.Path, ws)
	boshRoute, jsonRoute, stopCluster, err := clusterRoutes(&cfg, bh, jh, log)
	if err != nil {
		return err
	}
	defer stopCluster()
	mux.Handle(cfg.BOSH.Path, boshRoute)
	mux.Handle(cfg.JSON.Path+"/", jsonRoute)
	mux.Handle("/", rootHandler(&cfg))

	tcp, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// The transports see the real client in r.RemoteAddr and r.TLS,
	// as the trusted proxies name it. The PROXY protocol header is read
	// under httphold's listener, which hands connections back to the
	// server between requests, so that it is read once per connection.
	proxies, _ := clientip.ParseProxies(cfg.TrustedProxies) // validated by Load
	if cfg.ProxyProtocol {
		tcp = proxies.Listener(tcp)
	}
	srv := &http.Server{
		Handler:           proxies.Handler(withClient(mux)),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	// Held long-poll requests are taken over from net/http and handed back
	// through this listener between requests (package httphold).
	ln := httphold.Attach(srv, tcp, idleTimeout)
	holdContext := srv.ConnContext
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		return clientip.ConnContext(holdContext(ctx, c), c)
	}
	if m != nil {
		stopMetrics, err := serveMetrics(cfg.Metrics.Addr(), m, checker, log)
		if err != nil {
			_ = ln.Close()
			return err
		}
		defer stopMetrics()
	}
	served := make(chan error, 1)
	if cert != nil {
		srv.TLSConfig = cert.tlsConfig()
		go func() { served <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { served <- srv.Serve(ln) }()
	}
	checker.Serving()
	log.Info("listening", "addr", ln.Addr().String(), "tls", cert != nil, "websocket", cfg.WebSocket.Path, "bosh", cfg.BOSH.Path, "json", cfg.JSON.Path, "demo", *cfg.Web.Demo)
	if ready != nil {
		ready <- ln.Addr().String()
	}

	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	}
	// Readiness goes first, so that load balancers stop sending new
	// clients while everything is still served.
	if err := lameDuck(checker, cfg.LameDuck.Duration, served, log); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("shutting down", "sessions", hub.Len(), "timeout", cfg.ShutdownTimeout.Duration)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout.Duration)
	defer cancel()
	context.AfterFunc(sctx, cut)
	// Stop accepting; hijacked WebSocket connections are the handler's to
	// drain. Held BOSH requests are ordinary HTTP requests, which
	// srv.Shutdown waits for, so it runs beside the drain that answers them:
	// the Hub ends every session with system-shutdown, which the BOSH
	// handler relays to the requests it holds.
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Shutdown(sctx) }()
	err = errors.Join(hub.Shutdown(sctx), ws.Shutdown(sctx), bh.Shutdown(sctx), jh.Shutdown(sctx), <-stopped)
	if err != nil {
		log.Warn("shutdown cut short", "err", err)
	} else {
		log.Info("shut down cleanly")
	}
	return nil
}

// idleTimeout is how long a browser's keep-alive connection may wait for
// its next request.
const idleTimeout = 2 * time.Minute

// rootHandler serves the demo chat page at / when it is on, and a plain
// text 404 for paths no endpoint serves.
func rootHandler(cfg *Config) http.Handler {
	var demo http.Handler
	if *cfg.Web.Demo {
		demo = web.Handler()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if demo != nil {
			demo.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if r.URL.Path != "/" {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, "xmppbridge: no such endpoint: %s\n", r.URL.Path)
			return
		}
		fmt.Fprintf(w, "xmppbridge: XMPP over WebSocket (RFC 7395) at %s, BOSH (XEP-0124/0206) at %s, JSON at %s/\n", cfg.WebSocket.Path, cfg.BOSH.Path, cfg.JSON.Path)
	})
}

// resumeWindow is the [json] resume keys as jsonapi takes them: a
// negative window is no resumption.
func resumeWindow(j JSONConfig) time.Duration {
	if !*j.Resume {
		return -1
	}
	return j.ResumeWindow.Duration
}

// prebindBOSH lets the JSON API's prebind endpoint open BOSH sessions for
// Strophe.js and Converse.js to attach to, as the account it checked.
func prebindBOSH(bh *bosh.Handler) func(context.Context, jsonapi.Account) (jsonapi.BOSHPrebound, error) {
	return func(ctx context.Context, a jsonapi.Account) (jsonapi.BOSHPrebound, error) {
		p, err := bh.Prebind(ctx, bosh.PrebindRequest{To: a.Domain, Credentials: a.Credentials})
		if err != nil {
			return jsonapi.BOSHPrebound{}, err
		}
		return jsonapi.BOSHPrebound{JID: p.JID, SID: p.SID, RID: p.NextRID()}, nil
	}
}

// upstreamFor turns the configuration into the Hub's per-domain rule. The
// TLS configuration of each [domain] table is built once and shared (a
// Conn keeps its Config, and xmppclient clones the TLS configuration before
// using it); other domains (allow_any_domain) get theirs per session.
func upstreamFor(cfg *Config) func(string) (xmppclient.Config, error) {
	type built struct {
		tls *tls.Config
		err error
	}
	tlsByDomain := make(map[string]built, len(cfg.Domains))
	for name := range cfg.Domains {
		t, err := cfg.TLSFor(name)
		tlsByDomain[strings.ToLower(name)] = built{t, err}
	}
	return func(domain string) (xmppclient.Config, error) {
		d, ok := cfg.Domain(domain)
		if !ok {
			return xmppclient.Config{}, &bridge.CloseError{Reason: bridge.ReasonHostUnknown, Text: "this bridge does not serve " + domain}
		}
		domain = strings.ToLower(domain)
		b, ok := tlsByDomain[domain]
		if !ok {
			b.tls, b.err = cfg.TLSFor(domain)
		}
		tlsCfg, err := b.tls, b.err
		if err != nil {
			return xmppclient.Config{}, &bridge.CloseError{Reason: bridge.ReasonInternal, Err: err}
		}
		sec := xmppclient.StartTLS
		switch d.Security {
		case SecurityTLS:
			sec = xmppclient.DirectTLS
		case SecurityPlaintext:
			sec = xmppclient.Plaintext
		}
		return xmppclient.Config{
			// A domain anyone may ask for is reached only at public
			// addresses; one the operator listed, wherever it is.
			PublicOnly:       !cfg.Listed(domain),
			Domain:           domain,
			Addr:             d.Address,
			Security:         sec,
			TLS:              tlsCfg,
			MaxStanzaBytes:   cfg.Limits.MaxStanzaBytes,
			Keepalive:        cfg.Upstream.Keepalive.Duration,
			KeepaliveTimeout: cfg.Upstream.KeepaliveTimeout.Duration,
		}, nil
	}
}

// routeFor is the BOSH 'route' rule: a session creation request may name
// only the address the bridge dials for the domain anyway, the one its
// [domain] table gives (XEP-0124 §7.1 lets a connection manager serving a
// defined list of domains ignore the attribute; the bridge refuses a route
// it would not take rather than pretend to).
func routeFor(cfg *Config) func(to, host, port string) bool {
	return func(to, host, port string) bool {
		d, ok := cfg.Domain(to)
		if !ok || d.Address == "" {
			return false
		}
		h, p, err := net.SplitHostPort(d.Address)
		return err == nil && strings.EqualFold(h, host) && p == port
	}
}

// logFault logs an element from a server that was not
// namespace-well-formed: repaired ones at debug (nothing was lost), dropped
// ones at info. The cause names the element and its sender.
func logFault(log *slog.Logger) func(*bridge.Session, error) {
	return func(s *bridge.Session, fault error) {
		ctx := context.Background()
		level, msg := slog.LevelDebug, "element from the server repaired"
		if errors.Is(fault, xmppclient.ErrDropped) {
			level, msg = slog.LevelInfo, "element from the server dropped"
		}
		if log.Enabled(ctx, level) {
			log.Log(ctx, level, msg, "session", s.ID(), "cause", fault.Error())
		}
	}
}

// configHint names the setting to look at when a session ended because the
// configuration cannot work with the server, not through anyone's fault.
func configHint(err error) string {
	switch {
	case errors.Is(err, xmppclient.ErrTLSRequired):
		return `the server requires STARTTLS, and its [domain] table says security = "plaintext": set security = "starttls" (or "tls")`
	case errors.Is(err, xmppclient.ErrNoMechanism):
		return "for a bridge-side login (JSON API, prebind) the server must offer SCRAM-SHA-256, SCRAM-SHA-1, or PLAIN over TLS (security = \"starttls\" or \"tls\")"
	}
	return ""
}

// logEnd logs every session's end: clean ends at debug, the rest at info
// with the cause (the browser only heard the condition).
func logEnd(log *slog.Logger) func(*bridge.Session, *bridge.CloseError) {
	return func(s *bridge.Session, e *bridge.CloseError) {
		ctx := context.Background()
		level := slog.LevelInfo
		switch e.Reason {
		case bridge.ReasonNormal, bridge.ReasonUpstreamClosed, bridge.ReasonGone, bridge.ReasonShutdown:
			level = slog.LevelDebug
		}
		if !log.Enabled(ctx, level) {
			return
		}
		attrs := []any{"session", s.ID(), "reason", e.Reason.String()}
		attrs = appendClient(attrs, s.Client(), s.Account())
		if c := e.StreamCondition(); c != "" {
			attrs = append(attrs, "condition", c)
		}
		if e.Err != nil {
			attrs = append(attrs, "cause", e.Err.Error())
		}
		if h := configHint(e.Err); h != "" {
			attrs = append(attrs, "hint", h)
		}
		log.Log(ctx, level, "session ended", attrs...)
	}
}
