package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// idleConfig is the idle subcommand's flags.
type idleConfig struct {
	name, kind, url  string
	pid, serverPID   int
	pprof            string
	conns            int
	n                int
	domain           string
	login            bool
	prefix, password string
	sources          int
	concurrency      int
	settle           time.Duration
	timeout          time.Duration
	format           string
}

// idleResult is what one idle run measured.
type idleResult struct {
	Name           string  `json:"name"`
	Kind           string  `json:"kind"`
	Login          bool    `json:"login"`
	Sessions       int     `json:"sessions"`
	SetupSeconds   float64 `json:"setup_s"`
	PID            int     `json:"pid"`
	RSSBeforeKiB   int64   `json:"rss_before_kib"`
	RSSAfterKiB    int64   `json:"rss_after_kib"`
	KiBPerSession  float64 `json:"kib_per_session"`
	ServerPID      int     `json:"server_pid,omitempty"`
	ServerBefore   int64   `json:"server_rss_before_kib,omitempty"`
	ServerAfter    int64   `json:"server_rss_after_kib,omitempty"`
	ServerPerSess  float64 `json:"server_kib_per_session,omitempty"`
	FDsBefore      int     `json:"fds_before"`
	FDsAfter       int     `json:"fds_after"`
	FDsPerSession  float64 `json:"fds_per_session"`
	GoBefore       int     `json:"goroutines_before,omitempty"` // with -pprof
	GoAfter        int     `json:"goroutines_after,omitempty"`
	GoPerSession   float64 `json:"goroutines_per_session,omitempty"`
	Conns          int     `json:"conns,omitempty"`              // keep-alive connections kept a session (bosh, poll, sse)
	OpenRequests   int     `json:"bosh_requests_open,omitempty"` // at the last reading, over every session
	ClientConns    int     `json:"bosh_client_conns,omitempty"`  // the load tool's connections then
	SettledSeconds float64 `json:"settle_s"`
	Go             string  `json:"go"`
}

func idle(args []string) error {
	var c idleConfig
	fs := flag.NewFlagSet("idle", flag.ExitOnError)
	fs.StringVar(&c.name, "name", "", "name of this run in the output (default: KIND)")
	fs.StringVar(&c.kind, "kind", "ws", "ws (RFC 7395), bosh (XEP-0124/0206, one request held per session), json (the bridge's JSON API over WebSocket, e.g. ws://HOST:PORT/json/ws), sse (its Server-Sent Events, base URL http://HOST:PORT/json) or poll (its long-poll, the same base URL); json, sse and poll need -login")
	fs.StringVar(&c.url, "url", "ws://127.0.0.1:5280/xmpp-websocket", "the endpoint's URL")
	fs.IntVar(&c.pid, "pid", 0, "process id of the server whose memory is measured (the bridge, or Prosody for its own endpoints)")
	fs.IntVar(&c.serverPID, "server-pid", 0, "another process to measure, e.g. the Prosody behind the bridge (0: none)")
	fs.StringVar(&c.pprof, "pprof", "", "the -pid process's pprof address (HOST:PORT), to count its goroutines (empty: not counted)")
	fs.IntVar(&c.conns, "conns", 2, "bosh, poll and sse: keep-alive connections a session keeps while idle: 2 as browsers keep them (Strophe.js, Converse.js: the held request's and the one the last stanza went out on; sse: the events stream and the idle connection of the last POST), or 1 (the idle one closed)")
	fs.IntVar(&c.n, "n", 2000, "sessions to open (at most 9000: the bridge holds two sockets each)")
	fs.StringVar(&c.domain, "domain", "localhost", "XMPP domain to open streams to")
	fs.BoolVar(&c.login, "login", false, "log every session in (SASL PLAIN, bind, presence, or with -kind json a login frame and presence; see the users subcommand) instead of only opening a stream")
	fs.StringVar(&c.prefix, "prefix", "load", "with -login: user names are PREFIX0…PREFIX{n-1}")
	fs.StringVar(&c.password, "password", "secret", "with -login: password of every user")
	fs.IntVar(&c.sources, "sources", 8, "local source addresses 127.0.0.2… to spread connections over")
	fs.IntVar(&c.concurrency, "concurrency", 64, "sessions being set up at once")
	fs.DurationVar(&c.settle, "settle", 3*time.Second, "wait before the last memory reading")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Minute, "bound on the whole run")
	fs.StringVar(&c.format, "format", "json", "output: json (one line), row (one markdown table row), or header (only the header of those rows, and no run)")
	fs.Parse(args)
	if c.format == "header" {
		fmt.Println(idleHeader)
		return nil
	}
	var problems []error
	if c.pid == 0 {
		problems = append(problems, errors.New("-pid is required"))
	}
	if c.n < 1 || c.n > 9000 {
		problems = append(problems, errors.New("-n must be 1…9000"))
	}
	switch {
	case c.kind != "ws" && c.kind != "bosh" && c.kind != "json" && c.kind != "sse" && c.kind != "poll":
		problems = append(problems, fmt.Errorf("-kind %q: want ws, bosh, json, sse or poll", c.kind))
	case (c.kind == "json" || c.kind == "sse" || c.kind == "poll") && !c.login:
		// A JSON session has no stream to open before its login.
		problems = append(problems, fmt.Errorf("-kind %s needs -login", c.kind))
	}
	if c.conns != 1 && c.conns != 2 {
		problems = append(problems, errors.New("-conns must be 1 or 2"))
	}
	if c.sources < 1 || c.sources > 250 || c.concurrency < 1 {
		problems = append(problems, errors.New("-sources must be 1…250 and -concurrency positive"))
	}
	if c.format != "json" && c.format != "row" {
		problems = append(problems, fmt.Errorf("-format %q: want json or row", c.format))
	}
	if err := errors.Join(problems...); err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	if c.name == "" {
		c.name = c.kind
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	r, err := runIdle(ctx, c)
	if err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	if c.format == "row" {
		fmt.Println(idleRow(r))
		return nil
	}
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
	return nil
}

func runIdle(ctx context.Context, c idleConfig) (*idleResult, error) {
	p, err := newPath(c.name, c.kind, c.url)
	if err != nil {
		return nil, err
	}
	r := &idleResult{Name: c.name, Kind: c.kind, Login: c.login, Sessions: c.n, PID: c.pid, ServerPID: c.serverPID, Go: runtime.Version()}
	if c.kind == "bosh" || c.kind == "poll" || c.kind == "sse" {
		r.Conns = c.conns
	}
	var mon *monitor
	if c.pprof != "" {
		mon = newMonitor(c.pid, c.pprof, time.Now())
		defer mon.close()
		if r.GoBefore, err = mon.goroutines(ctx); err != nil {
			return nil, err
		}
	}
	if r.FDsBefore, err = openFDs(c.pid); err != nil {
		return nil, err
	}
	if r.RSSBeforeKiB, err = rss(c.pid); err != nil {
		return nil, err
	}
	if c.serverPID != 0 {
		if r.ServerBefore, err = rss(c.serverPID); err != nil {
			return nil, err
		}
	}
	streams := make([]Stream, c.n)
	defer closeStreams(streams)
	var opened atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	sem := make(chan struct{}, c.concurrency)
	start := time.Now()
	for i := range c.n {
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			st, err := openIdle(ctx, p, c, i)
			if err != nil {
				select {
				case errc <- fmt.Errorf("session %d: %w", i, err):
				default:
				}
				return
			}
			streams[i] = st
			if k := opened.Add(1); k%500 == 0 {
				fmt.Fprintf(os.Stderr, "\r%s: opened %d/%d", c.name, k, c.n)
			}
		}()
	}
	wg.Wait()
	r.SetupSeconds = time.Since(start).Seconds()
	fmt.Fprintf(os.Stderr, "\r%s: opened %d/%d in %v\n", c.name, opened.Load(), c.n, time.Since(start).Round(time.Millisecond))
	select {
	case err := <-errc:
		return nil, err
	default:
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// A BOSH session may still have had its second request open when its
	// setup ended; with -conns 1, from here on each holds only the
	// connection its waiting request uses.
	time.Sleep(time.Second)
	if c.conns == 1 {
		trimIdle(streams)
	}
	t0 := time.Now()
	time.Sleep(c.settle)
	r.SettledSeconds = time.Since(t0).Seconds()
	if r.RSSAfterKiB, err = rss(c.pid); err != nil {
		return nil, err
	}
	r.KiBPerSession = float64(r.RSSAfterKiB-r.RSSBeforeKiB) / float64(c.n)
	if r.FDsAfter, err = openFDs(c.pid); err != nil {
		return nil, err
	}
	r.FDsPerSession = float64(r.FDsAfter-r.FDsBefore) / float64(c.n)
	if mon != nil {
		if r.GoAfter, err = mon.goroutines(ctx); err != nil {
			return nil, err
		}
		r.GoPerSession = float64(r.GoAfter-r.GoBefore) / float64(c.n)
	}
	if c.serverPID != 0 {
		if r.ServerAfter, err = rss(c.serverPID); err != nil {
			return nil, err
		}
		r.ServerPerSess = float64(r.ServerAfter-r.ServerBefore) / float64(c.n)
	}
	for _, st := range streams {
		switch s := st.(type) {
		case *boshStream:
			r.OpenRequests += s.openRequests()
			r.ClientConns += s.po.conns()
		case *jsonPollStream:
			r.OpenRequests += s.openRequests()
			r.ClientConns += s.po.conns()
		}
	}
	return r, nil
}

// openIdle sets up session i: a stream, or with -login a logged-in user.
func openIdle(ctx context.Context, p Path, c idleConfig, i int) (Stream, error) {
	ctx, cancel := context.WithTimeout(ctx, ioTimeout)
	defer cancel()
	st, err := p.Dial(ctx, net.IPv4(127, 0, 0, byte(2+i%c.sources)))
	if err != nil {
		return nil, err
	}
	if c.login {
		_, err = login(ctx, st, c.domain, c.prefix+strconv.Itoa(i), c.password)
	} else {
		_, err = st.Open(ctx, c.domain)
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	if b, ok := st.(*boshStream); ok {
		// Once the last stanza's request has come back, the session's
		// second connection is idle: with -conns 1, close it now rather
		// than at the end, so thousands of sessions never hold two each
		// at once.
		for k := 0; k < 100 && b.openRequests() > 1; k++ {
			time.Sleep(20 * time.Millisecond)
		}
		if c.conns == 1 {
			b.closeIdle()
		}
	} else {
		// Read what comes, as a browser does: the WebSocket library answers
		// the server's keepalive pings only while something reads, and a
		// server ends a session that never answers them.
		go func() {
			for {
				if _, err := st.Recv(); err != nil {
					return
				}
			}
		}()
	}
	return st, nil
}

// trimIdle closes the keep-alive connections no request uses: BOSH's and
// long-poll's second one, and the idle connection of an events session's
// last POST.
func trimIdle(streams []Stream) {
	for _, st := range streams {
		switch s := st.(type) {
		case *boshStream:
			s.closeIdle()
		case *jsonPollStream:
			s.closeIdle()
		case *jsonSSEStream:
			s.po.closeIdle()
		}
	}
}

// closeStreams closes every stream, 64 at a time.
func closeStreams(streams []Stream) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, st := range streams {
		if st == nil {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			st.Close()
		}()
	}
	wg.Wait()
}

// idleHeader is the markdown header of the rows idleRow writes.
const idleHeader = "| run | sessions | setup | measured RSS before → after | per session | fds per session | goroutines per session | other RSS before → after | per session | requests held / connections |\n" +
	"|-----|---------:|------:|----------------------------:|------------:|----------------:|-----------------------:|-------------------------:|------------:|---------------------------------:|"

// idleRow is one markdown table row for r.
func idleRow(r *idleResult) string {
	mib := func(k int64) string { return fmt.Sprintf("%.1f MiB", float64(k)/1024) }
	other, otherPer := "–", "–"
	if r.ServerPID != 0 {
		other = mib(r.ServerBefore) + " → " + mib(r.ServerAfter)
		otherPer = fmt.Sprintf("%.1f KiB", r.ServerPerSess)
	}
	held := "–"
	if r.Kind == "bosh" || r.Kind == "poll" {
		held = fmt.Sprintf("%d / %d", r.OpenRequests, r.ClientConns)
	}
	gor := "–"
	if r.GoBefore != 0 {
		gor = fmt.Sprintf("%.2f", r.GoPerSession)
	}
	return fmt.Sprintf("| %s | %d | %.1f s | %s → %s | %.1f KiB | %.2f | %s | %s | %s | %s |",
		r.Name, r.Sessions, r.SetupSeconds, mib(r.RSSBeforeKiB), mib(r.RSSAfterKiB), r.KiBPerSession, r.FDsPerSession, gor, other, otherPer, held)
}
