package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// live is what SIGHUP changes in the running daemon: the Origin rule, the
// log level, and the domain tables, upstream settings and CA files that
// new sessions use. Sessions already open keep what they started with;
// every other setting (listen, paths, limits, transports' timings, …)
// needs a restart, which the reload says.
type live struct {
	path  string // the configuration file; "" for built-in defaults
	apply func(*Config)
	cfg   atomic.Pointer[Config]
	up    atomic.Pointer[func(string) (xmppclient.Config, error)]
	level slog.LevelVar
}

// newLive holds cfg, read from path and then changed by apply (the
// command line's overrides, which a reload applies again).
func newLive(cfg *Config, path string, apply func(*Config)) *live {
	l := &live{path: path, apply: apply}
	l.store(cfg)
	return l
}

func (l *live) store(cfg *Config) {
	up := upstreamFor(cfg)
	l.up.Store(&up)
	l.level.Set(cfg.Level())
	l.cfg.Store(cfg)
}

// upstream is the bridge's Config.Upstream: the domain tables in force.
func (l *live) upstream(domain string) (xmppclient.Config, error) {
	return (*l.up.Load())(domain)
}

// checkOrigin is the transports' Origin rule in force.
func (l *live) checkOrigin(r *http.Request) bool {
	return l.cfg.Load().OriginAllowed(r.Header.Get("Origin"), r.Host)
}

// reload reads the file again. A file with problems changes nothing and
// is reported; otherwise what can change live does, and what cannot is
// named. It reports whether the new configuration is in force.
func (l *live) reload(log *slog.Logger) bool {
	if l.path == "" {
		log.Info("SIGHUP: no configuration file to read again")
		return false
	}
	cfg, err := Load(l.path)
	if err != nil {
		log.Error("SIGHUP: configuration not reloaded; the one in use stays", "file", l.path, "err", err)
		return false
	}
	l.apply(&cfg)
	old := l.cfg.Load()
	if fixed := restartNeeded(old, &cfg); len(fixed) > 0 {
		log.Warn("SIGHUP: these settings changed and take effect at the next restart", "settings", fixed)
	}
	l.store(&cfg)
	log.Info("SIGHUP: configuration reloaded", "file", l.path, "domains", len(cfg.Domains), "origins", cfg.Origins, "log_level", cfg.LogLevel)
	return true
}

// liveFields are the Config fields a reload changes in the running daemon.
var liveFields = map[string]bool{
	"LogLevel": true, "Origins": true, "Domains": true, "AllowAnyDomain": true,
	"Upstream": true, "TLS": true,
	// What Load derives from them.
	"rootCAs": true, "domainRootCAs": true,
	// The certificate has its own reload (listenerCert), from the same files.
	"listenCert": true,
}

// restartNeeded names the settings (by their TOML keys) that differ
// between old and cfg and that a reload does not change.
func restartNeeded(old, cfg *Config) []string {
	var names []string
	ov, nv := reflect.ValueOf(old).Elem(), reflect.ValueOf(cfg).Elem()
	for i := range ov.NumField() {
		f := ov.Type().Field(i)
		if liveFields[f.Name] || !f.IsExported() {
			continue
		}
		if !reflect.DeepEqual(ov.Field(i).Interface(), nv.Field(i).Interface()) {
			name := f.Tag.Get("toml")
			if name == "" {
				name = f.Name
			}
			names = append(names, name)
		}
	}
	return names
}

// reloadOn reloads at each signal on hup until ctx is done, logging what
// came of it: the configuration (l) and the listener's certificate (cert,
// nil for plain HTTP). The returned function waits for the goroutine to
// end.
func reloadOn(ctx context.Context, hup <-chan os.Signal, l *live, cert *listenerCert, log *slog.Logger) (wait func()) {
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			l.reload(log)
			if cert == nil {
				continue
			}
			if err := cert.reload(); err != nil {
				log.Error("SIGHUP: certificate not reloaded; the one in use stays", "err", err)
				continue
			}
			log.Info("SIGHUP: certificate reloaded", "cert", cert.certFile, "expires", cert.cur.Load().Leaf.NotAfter)
		}
	})
	return wg.Wait
}
