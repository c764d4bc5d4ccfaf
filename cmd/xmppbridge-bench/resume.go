package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// resumeConfig is the resume subcommand's flags.
type resumeConfig struct {
	transport, url   string
	pid, serverPID   int
	n                int
	domain           string
	prefix, password string
	sources          int
	loginConc        int
	resumeConc       int
	metrics          string
	pprof            string
	settle           time.Duration
	detachTimeout    time.Duration
	timeout          time.Duration
	format           string
}

// resumeTimes summarises the resume times in milliseconds.
type resumeTimes struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P90 float64 `json:"p90_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
}

func summariseResumes(d []time.Duration) resumeTimes {
	slices.Sort(d)
	ms := func(x time.Duration) float64 { return float64(x.Microseconds()) / 1000 }
	s := resumeTimes{N: len(d), P50: ms(quantile(d, 0.5)), P90: ms(quantile(d, 0.9)), P99: ms(quantile(d, 0.99))}
	if len(d) > 0 {
		s.Max = ms(d[len(d)-1])
	}
	return s
}

// resumeResult is what one resume run measured.
type resumeResult struct {
	Transport     string  `json:"transport"`
	Sessions      int     `json:"sessions"`
	LoginSeconds  float64 `json:"login_s"`
	PID           int     `json:"pid"`
	RSSBeforeKiB  int64   `json:"rss_before_kib"`
	RSSAttached   int64   `json:"rss_attached_kib"`
	RSSDetached   int64   `json:"rss_detached_kib"`
	RSSResumed    int64   `json:"rss_resumed_kib"`
	KiBAttached   float64 `json:"kib_per_attached_session"`
	KiBDetached   float64 `json:"kib_per_detached_session"`
	ServerPID     int     `json:"server_pid,omitempty"`
	ServerBefore  int64   `json:"server_rss_before_kib,omitempty"`
	ServerDetach  int64   `json:"server_rss_detached_kib,omitempty"`
	ServerPerSess float64 `json:"server_kib_per_detached_session,omitempty"`
	// The bridge's open descriptors, and with -pprof its Go memory after a
	// forced collection, at the readings before the logins, attached and
	// detached.
	FDs           [3]int   `json:"fds"`
	Go            [3]goMem `json:"go_mem,omitempty"`
	GoKiBAttached float64  `json:"go_inuse_kib_per_attached_session,omitempty"`
	GoKiBDetached float64  `json:"go_inuse_kib_per_detached_session,omitempty"`
	LiveAttached  float64  `json:"go_live_kib_per_attached_session,omitempty"`
	LiveDetached  float64  `json:"go_live_kib_per_detached_session,omitempty"`
	// DetachSeconds is from the cut until the bridge's metrics counted
	// every session detached (0 without -metrics).
	DetachSeconds float64        `json:"detach_s"`
	Detached      int            `json:"detached"` // as the metrics said at the reading; -1 without -metrics
	SettleSeconds float64        `json:"settle_s"`
	Resume        resumeTimes    `json:"resume"` // dial → resumed frame, successful resumes
	ResumeSeconds float64        `json:"resume_wall_s"`
	Concurrency   int            `json:"resume_concurrency"`
	Resumed       int            `json:"resumed"`
	Failures      map[string]int `json:"failures,omitempty"` // by error code
	FirstWrong    int            `json:"first_wrong"`        // resumed frames whose first was not last+1
	FramesBefore  int64          `json:"frames_before_cut"`  // numbered frames the sessions had, all together
	Load          [2]string      `json:"loadavg"`            // /proc/loadavg at the start and after the resumes
	GoVersion     string         `json:"go"`
}

// goMem is the bridge's Go memory after a forced collection: the heap
// spans and stacks in use (InuseKiB: HeapInuse plus the stacks), the live
// heap (HeapAlloc) and its goroutines.
type goMem struct {
	InuseKiB   int64 `json:"inuse_kib"`
	LiveKiB    int64 `json:"live_kib"`
	Goroutines int   `json:"goroutines"`
}

func resume(args []string) error {
	var c resumeConfig
	fs := flag.NewFlagSet("resume", flag.ExitOnError)
	fs.StringVar(&c.transport, "transport", "ws", "ws (the JSON API's WebSocket) or poll (its long-poll transport)")
	fs.StringVar(&c.url, "url", "", "with -transport ws the JSON API's WebSocket URL (default ws://127.0.0.1:5280/json/ws), with poll its base URL (default http://127.0.0.1:5280/json)")
	fs.IntVar(&c.pid, "pid", 0, "process id of the bridge")
	fs.IntVar(&c.serverPID, "server-pid", 0, "another process to measure, e.g. the Prosody behind the bridge (0: none)")
	fs.IntVar(&c.n, "n", 1000, "sessions (at most 9000)")
	fs.StringVar(&c.domain, "domain", "localhost", "XMPP domain of the users")
	fs.StringVar(&c.prefix, "prefix", "load", "user names are PREFIX0…PREFIX{n-1} (see the users subcommand)")
	fs.StringVar(&c.password, "password", "secret", "password of every user")
	fs.IntVar(&c.sources, "sources", 8, "local source addresses 127.0.0.2… to spread connections over")
	fs.IntVar(&c.loginConc, "login-concurrency", 64, "sessions being logged in at once")
	fs.IntVar(&c.resumeConc, "concurrency", 50, "sessions being resumed at once")
	fs.StringVar(&c.metrics, "metrics", "", "the bridge's metrics URL (http://HOST:PORT/metrics): wait until it counts every JSON session detached before the reading; empty: wait -settle only")
	fs.StringVar(&c.pprof, "pprof", "", "the bridge's pprof address (HOST:PORT): also read its Go heap and stacks in use after a forced collection at each reading; empty: not read")
	fs.DurationVar(&c.settle, "settle", 3*time.Second, "wait before each memory reading")
	fs.DurationVar(&c.detachTimeout, "detach-timeout", 2*time.Minute, "bound on the wait for the bridge to detach every session (a long-poll session is detached after [json] inactivity)")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Minute, "bound on the whole run")
	fs.StringVar(&c.format, "format", "json", "output: json (one line), or table (markdown tables, then the JSON line)")
	fs.Parse(args)
	var problems []error
	switch {
	case c.transport == "ws" && c.url == "":
		c.url = "ws://127.0.0.1:5280/json/ws"
	case c.transport == "poll" && c.url == "":
		c.url = "http://127.0.0.1:5280/json"
	case c.transport != "ws" && c.transport != "poll":
		problems = append(problems, fmt.Errorf("-transport %q: want ws or poll", c.transport))
	}
	if c.pid == 0 {
		problems = append(problems, errors.New("-pid is required"))
	}
	if c.n < 1 || c.n > 9000 {
		problems = append(problems, errors.New("-n must be 1…9000"))
	}
	if c.sources < 1 || c.sources > 250 || c.loginConc < 1 || c.resumeConc < 1 {
		problems = append(problems, errors.New("-sources must be 1…250 and the concurrencies positive"))
	}
	if c.format != "json" && c.format != "table" {
		problems = append(problems, fmt.Errorf("-format %q: want json or table", c.format))
	}
	if err := errors.Join(problems...); err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	r, err := runResume(ctx, c)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	if c.format == "table" {
		writeResumeTable(os.Stdout, r)
		fmt.Println()
	}
	out, _ := json.Marshal(r)
	fmt.Println(string(out))
	return nil
}

// resumeSession is one JSON session: its connection of the moment, its
// resume token, and the number of the last frame it has had.
type resumeSession struct {
	token string
	last  atomic.Int64
	done  chan struct{} // closed when the reader of c or w returns

	c *websocket.Conn // WebSocket

	// Long-poll: the session as logged in, requests kept going by w; after
	// a resume, its new sid and next rid on po, with no poll held.
	w   *jsonPollStream
	po  *poster
	sid string
	rid int64
}

// cut drops the session's connection as a page whose network went away,
// telling the bridge nothing, and waits for its reader to return.
func (s *resumeSession) cut() {
	if s.w == nil {
		s.c.Close()
		<-s.done
		return
	}
	s.w.abort()
	<-s.done
	s.w.mu.Lock()
	s.last.Store(s.w.taken)
	s.w.mu.Unlock()
}

// read counts the numbered frames that arrive on c until it fails.
func (s *resumeSession) read() {
	defer close(s.done)
	for {
		typ, el, err := s.c.ReadMessage()
		if err != nil {
			return
		}
		if typ == websocket.TextMessage && numbered(el) {
			s.last.Add(1)
		}
	}
}

func runResume(ctx context.Context, c resumeConfig) (*resumeResult, error) {
	r := &resumeResult{Transport: c.transport, Sessions: c.n, PID: c.pid, ServerPID: c.serverPID, Concurrency: c.resumeConc, Detached: -1, GoVersion: runtime.Version()}
	r.Load[0] = loadavg()
	var err error
	if r.RSSBeforeKiB, err = rss(c.pid); err != nil {
		return nil, err
	}
	if c.serverPID != 0 {
		if r.ServerBefore, err = rss(c.serverPID); err != nil {
			return nil, err
		}
	}
	if r.Go[0], r.FDs[0], err = readGo(ctx, c); err != nil {
		return nil, err
	}
	sessions := make([]*resumeSession, c.n)
	defer func() {
		closeResumeSessions(sessions)
	}()

	// Log every session in.
	start := time.Now()
	var logged atomic.Int64
	err = forEach(ctx, c.n, c.loginConc, func(i int) error {
		s, err := loginResumable(ctx, c, i)
		if err != nil {
			return fmt.Errorf("session %d: %w", i, err)
		}
		sessions[i] = s
		if k := logged.Add(1); k%500 == 0 {
			fmt.Fprintf(os.Stderr, "\rresume: logged in %d/%d", k, c.n)
		}
		return nil
	})
	r.LoginSeconds = time.Since(start).Seconds()
	fmt.Fprintf(os.Stderr, "\rresume: logged in %d/%d in %v\n", logged.Load(), c.n, time.Since(start).Round(time.Millisecond))
	if err != nil {
		return nil, err
	}
	time.Sleep(c.settle)
	if r.RSSAttached, err = rss(c.pid); err != nil {
		return nil, err
	}
	if r.Go[1], r.FDs[1], err = readGo(ctx, c); err != nil {
		return nil, err
	}

	// Cut every connection: the socket closed, no close frame, no close
	// message.
	cut := time.Now()
	for _, s := range sessions {
		if s.w == nil {
			s.c.Close()
		} else {
			go s.w.abort()
		}
	}
	for _, s := range sessions {
		s.cut()
		r.FramesBefore += s.last.Load()
	}
	if c.metrics != "" {
		if r.Detached, err = waitDetached(ctx, c.metrics, c.n, c.detachTimeout); err != nil {
			return nil, err
		}
		r.DetachSeconds = time.Since(cut).Seconds()
	}
	fmt.Fprintf(os.Stderr, "resume: %d sessions cut, detached after %.1f s\n", c.n, r.DetachSeconds)
	t0 := time.Now()
	time.Sleep(c.settle)
	r.SettleSeconds = time.Since(t0).Seconds()
	if r.RSSDetached, err = rss(c.pid); err != nil {
		return nil, err
	}
	if c.serverPID != 0 {
		if r.ServerDetach, err = rss(c.serverPID); err != nil {
			return nil, err
		}
		r.ServerPerSess = float64(r.ServerDetach-r.ServerBefore) / float64(c.n)
	}
	r.KiBAttached = float64(r.RSSAttached-r.RSSBeforeKiB) / float64(c.n)
	r.KiBDetached = float64(r.RSSDetached-r.RSSBeforeKiB) / float64(c.n)
	if r.Go[2], r.FDs[2], err = readGo(ctx, c); err != nil {
		return nil, err
	}
	if c.pprof != "" {
		per := func(a, b int64) float64 { return float64(a-b) / float64(c.n) }
		r.GoKiBAttached = per(r.Go[1].InuseKiB, r.Go[0].InuseKiB)
		r.GoKiBDetached = per(r.Go[2].InuseKiB, r.Go[0].InuseKiB)
		r.LiveAttached = per(r.Go[1].LiveKiB, r.Go[0].LiveKiB)
		r.LiveDetached = per(r.Go[2].LiveKiB, r.Go[0].LiveKiB)
	}

	// Resume each on a fresh WebSocket.
	times := make([]time.Duration, c.n)
	codes := make([]string, c.n)
	var firstWrong atomic.Int64
	start = time.Now()
	forEach(ctx, c.n, c.resumeConc, func(i int) error {
		last := sessions[i].last.Load() // its reader has returned
		d, first, code := resumeOne(ctx, c, i, sessions[i])
		times[i], codes[i] = d, code
		if code == "" && first != last+1 {
			firstWrong.Add(1)
		}
		return nil
	})
	r.ResumeSeconds = time.Since(start).Seconds()
	var ok []time.Duration
	for i, code := range codes {
		if code == "" {
			ok = append(ok, times[i])
			continue
		}
		if r.Failures == nil {
			r.Failures = map[string]int{}
		}
		r.Failures[code]++
	}
	r.Resumed = len(ok)
	r.Resume = summariseResumes(ok)
	r.FirstWrong = int(firstWrong.Load())
	fmt.Fprintf(os.Stderr, "resume: %d/%d resumed in %.1f s\n", r.Resumed, c.n, r.ResumeSeconds)
	time.Sleep(c.settle)
	if r.RSSResumed, err = rss(c.pid); err != nil {
		return nil, err
	}
	r.Load[1] = loadavg()
	return r, nil
}

// forEach runs f(0)…f(n-1), conc at a time, and returns the first error;
// after an error or the end of ctx it starts no more.
func forEach(ctx context.Context, n, conc int, f func(i int) error) error {
	var wg sync.WaitGroup
	var first error
	var mu sync.Mutex
	sem := make(chan struct{}, conc)
	for i := range n {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := f(i); err != nil {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// loginResumable logs session i in, sends initial presence as idle -login
// does, and reads what arrives from then on.
func loginResumable(ctx context.Context, c resumeConfig, i int) (*resumeSession, error) {
	ctx, cancel := context.WithTimeout(ctx, ioTimeout)
	defer cancel()
	if c.transport == "poll" {
		return loginPoll(ctx, c, i)
	}
	ws, err := dialWebSocket(ctx, c.url, jsonSubprotocol, sourceAddr(i, c.sources))
	if err != nil {
		return nil, err
	}
	dl, _ := ctx.Deadline()
	ws.SetReadDeadline(dl)
	ws.SetWriteDeadline(dl)
	if err := ws.WriteMessage(websocket.TextMessage, loginFrame(c.domain, c.prefix+strconv.Itoa(i), c.password)); err != nil {
		ws.Close()
		return nil, err
	}
	_, el, err := ws.ReadMessage()
	if err != nil {
		ws.Close()
		return nil, err
	}
	token, err := sessionToken(el)
	if err != nil {
		ws.Close()
		return nil, err
	}
	if err := ws.WriteMessage(websocket.TextMessage, jsonSpelling{}.appendPresence(nil)); err != nil {
		ws.Close()
		return nil, err
	}
	ws.SetReadDeadline(time.Time{})
	ws.SetWriteDeadline(time.Time{})
	s := &resumeSession{c: ws, token: token, done: make(chan struct{})}
	s.last.Store(1) // the session frame is number 1
	go s.read()
	return s, nil
}

// loginPoll logs session i in over long-poll as jsonPollStream.Login
// does, keeping the session frame's token, and sends initial presence;
// the window keeps a poll held from then on.
func loginPoll(ctx context.Context, c resumeConfig, i int) (*resumeSession, error) {
	st, err := (&jsonPollPath{url: c.url}).Dial(ctx, sourceAddr(i, c.sources))
	if err != nil {
		return nil, err
	}
	w := st.(*jsonPollStream)
	w.mu.Lock()
	rid := w.rid
	w.mu.Unlock()
	b := strconv.AppendInt([]byte(`{"rid":`), rid, 10)
	b = append(b, `,"wait":`+strconv.Itoa(jsonPollWait)+`,"hold":1,"frames":[`...)
	b = append(b, loginFrame(c.domain, c.prefix+strconv.Itoa(i), c.password)...)
	if err := w.create(ctx, append(b, "]}"...)); err != nil {
		w.abort()
		return nil, err
	}
	el, err := w.recv(ctx)
	if err != nil {
		w.abort()
		return nil, err
	}
	token, err := sessionToken(el)
	if err != nil {
		w.abort()
		return nil, err
	}
	if err := w.Send(jsonSpelling{}.appendPresence(nil)); err != nil {
		w.abort()
		return nil, err
	}
	s := &resumeSession{w: w, token: token, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			if _, err := w.Recv(); err != nil {
				return
			}
		}
	}()
	return s, nil
}

// resumeOne resumes s on a fresh connection and returns the time from the
// dial to the resumed frame, the number of the first frame to follow, and
// for a failure its code ("" for none).
func resumeOne(ctx context.Context, c resumeConfig, i int, s *resumeSession) (time.Duration, int64, string) {
	ctx, cancel := context.WithTimeout(ctx, ioTimeout)
	defer cancel()
	if c.transport == "poll" {
		return resumePoll(ctx, c, i, s)
	}
	t0 := time.Now()
	ws, err := dialWebSocket(ctx, c.url, jsonSubprotocol, sourceAddr(i, c.sources))
	if err != nil {
		return 0, 0, "dial: " + transportCode(err)
	}
	dl, _ := ctx.Deadline()
	ws.SetReadDeadline(dl)
	ws.SetWriteDeadline(dl)
	if err := ws.WriteMessage(websocket.TextMessage, resumeFrame(s.token, s.last.Load())); err != nil {
		ws.Close()
		return 0, 0, "write: " + transportCode(err)
	}
	_, el, err := ws.ReadMessage()
	d := time.Since(t0)
	if err != nil {
		ws.Close()
		return 0, 0, "read: " + transportCode(err)
	}
	first, token, code := parseResumed(el)
	if code != "" {
		ws.Close()
		return 0, 0, code
	}
	ws.SetReadDeadline(time.Time{})
	ws.SetWriteDeadline(time.Time{})
	s.c, s.token, s.done = ws, token, make(chan struct{})
	go s.read()
	return d, first, ""
}

// resumePoll resumes s with a resume post on a fresh connection, timed
// from the post to its answer (the dial included). The session is left
// with no poll held.
func resumePoll(ctx context.Context, c resumeConfig, i int, s *resumeSession) (time.Duration, int64, string) {
	po, err := newPoster(strings.TrimSuffix(c.url, "/")+"/poll", sourceAddr(i, c.sources), (jsonPollWait+30)*time.Second)
	if err != nil {
		return 0, 0, err.Error()
	}
	po.ctype = "application/json"
	rid := 1 + rand.Int64N(1<<40)
	b := strconv.AppendInt([]byte(`{"rid":`), rid, 10)
	b = append(b, `,"wait":`+strconv.Itoa(jsonPollWait)+`,"hold":1,"frames":[`...)
	b = append(append(b, resumeFrame(s.token, s.last.Load())...), "]}"...)
	t0 := time.Now()
	status, data, err := po.post(ctx, b)
	d := time.Since(t0)
	if err != nil {
		po.closeIdle()
		return 0, 0, "post: " + transportCode(err)
	}
	first, token, sid, code := parsePollResumed(status, data)
	if code != "" {
		po.closeIdle()
		return 0, 0, code
	}
	s.po, s.sid, s.rid, s.token = po, sid, rid+1, token
	return d, first, ""
}

// parsePollResumed reads the answer to a resume post:
// {"sid":…,"resumed":{…},"first":N,"frames":[…]}, or an HTTP error
// whose error frame's code is the failure's.
func parsePollResumed(status int, data []byte) (first int64, token, sid, code string) {
	if status != http.StatusOK {
		var f struct{ Code string }
		json.Unmarshal(data, &f)
		if f.Code == "" {
			f.Code = "no code"
		}
		return 0, "", "", fmt.Sprintf("HTTP %d %s", status, f.Code)
	}
	var a struct {
		SID     string          `json:"sid"`
		Resumed json.RawMessage `json:"resumed"`
	}
	if err := json.Unmarshal(data, &a); err != nil {
		return 0, "", "", "bad-json"
	}
	if a.Resumed == nil || a.SID == "" {
		return 0, "", "", "unexpected answer"
	}
	first, token, code = parseResumed(a.Resumed)
	return first, token, a.SID, code
}

// transportCode names a transport error briefly, for the failure counts.
func transportCode(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "EOF"
	}
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return "close " + strconv.Itoa(ce.Code)
	}
	return err.Error()
}

func sourceAddr(i, sources int) net.IP {
	return net.IPv4(127, 0, 0, byte(2+i%sources))
}

// closeResumeSessions ends every session that has a connection, as a page
// does when it logs out, 64 at a time.
func closeResumeSessions(sessions []*resumeSession) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, s := range sessions {
		if s == nil {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if s.w != nil || s.po != nil {
				closePoll(s)
				return
			}
			s.c.SetWriteDeadline(time.Now().Add(time.Second))
			s.c.WriteMessage(websocket.TextMessage, []byte(`{"kind":"close"}`))
			s.c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
			s.c.Close()
		}()
	}
	wg.Wait()
}

// closePoll ends a long-poll session: one that was resumed with a close
// frame on its new sid, one that was not with its window's close.
func closePoll(s *resumeSession) {
	if s.po == nil {
		s.w.Close()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b := appendPostHead(nil, s.rid, s.sid, s.last.Load())
	s.po.post(ctx, append(b, `,"frames":[{"kind":"close"}]}`...))
	s.po.closeIdle()
}

// numbered reports whether a down frame on the JSON WebSocket counts in
// the session's frame numbers: all but resumed, down ack, and the
// conflict error that lets a connection go (docs/json-api.md). Error
// frames before a session are not numbered either, but none reach the
// counting: a refused login or resume ends the run or the attempt.
func numbered(el []byte) bool {
	var f struct{ Kind, Code string }
	if json.Unmarshal(el, &f) != nil {
		return false
	}
	switch {
	case f.Kind == "resumed", f.Kind == "ack":
		return false
	case f.Kind == "error" && f.Code == "conflict":
		return false
	}
	return true
}

// sessionToken reads the session frame that answers a login and returns
// its resume token.
func sessionToken(el []byte) (string, error) {
	var f struct{ Kind, JID, Token, Code, Text string }
	if err := json.Unmarshal(el, &f); err != nil {
		return "", fmt.Errorf("json: %w: %.200s", err, el)
	}
	switch {
	case f.Kind == "session" && f.Token != "":
		return f.Token, nil
	case f.Kind == "session":
		return "", errors.New("json: the session frame has no resume token (is [json] resume_window negative?)")
	case f.Kind == "error" || f.Kind == "close":
		return "", fmt.Errorf("json: %s %s: %s", f.Kind, f.Code, f.Text)
	}
	return "", fmt.Errorf("json: got %.200s, want a session frame", el)
}

// resumeFrame is {"kind":"resume","token":…,"last":last}.
func resumeFrame(token string, last int64) []byte {
	f, _ := json.Marshal(struct {
		Kind  string `json:"kind"`
		Token string `json:"token"`
		Last  int64  `json:"last"`
	}{"resume", token, last})
	return f
}

// parseResumed reads the answer to a resume: the first frame number and
// the new token of a resumed frame, or else a code for the failure — an
// error or close frame's code, or "unexpected" for any other frame.
func parseResumed(el []byte) (first int64, token, code string) {
	var f struct {
		Kind, Token, Code string
		First             int64
	}
	if err := json.Unmarshal(el, &f); err != nil {
		return 0, "", "bad-json"
	}
	switch {
	case f.Kind == "resumed" && f.Token != "":
		return f.First, f.Token, ""
	case f.Kind == "error" || f.Kind == "close":
		if f.Code == "" {
			f.Code = "no code"
		}
		return 0, "", f.Kind + " " + f.Code
	}
	return 0, "", "unexpected " + f.Kind
}

// waitDetached reads the bridge's metrics until they count n JSON sessions
// detached, and returns the count.
func waitDetached(ctx context.Context, url string, n int, bound time.Duration) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	last := -1
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			v, ok := gaugeValue(resp.Body, "xmppbridge_sessions", map[string]string{"transport": "json", "state": "detached"})
			resp.Body.Close()
			if ok {
				last = int(v)
				if last >= n {
					return last, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return last, fmt.Errorf("the bridge counted %d of %d sessions detached after %v", last, n, bound)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// gaugeValue finds the sample of metric name with every one of labels in
// Prometheus' text format.
func gaugeValue(r io.Reader, name string, labels map[string]string) (float64, bool) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name+"{")
		if !ok {
			continue
		}
		set, value, ok := strings.Cut(rest, "} ")
		if !ok {
			continue
		}
		have := map[string]string{}
		for _, kv := range strings.Split(set, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if ok {
				have[k] = strings.Trim(v, `"`)
			}
		}
		match := true
		for k, v := range labels {
			if have[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		f, err := strconv.ParseFloat(strings.Fields(value)[0], 64)
		if err != nil {
			return 0, false
		}
		return f, true
	}
	return 0, false
}

// readGo reads the bridge's open descriptors and, with -pprof, its Go
// memory from the runtime.MemStats at the end of its heap profile after a
// forced collection, and its goroutines.
func readGo(ctx context.Context, c resumeConfig) (goMem, int, error) {
	fds, err := openFDs(c.pid)
	if err != nil || c.pprof == "" {
		return goMem{}, fds, err
	}
	ctx, cancel := context.WithTimeout(ctx, ioTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.pprof+"/debug/pprof/heap?debug=1&gc=1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return goMem{}, fds, fmt.Errorf("pprof: %w", err)
	}
	heap, stack, live, ok := memStats(resp.Body)
	resp.Body.Close()
	if !ok {
		return goMem{}, fds, errors.New("pprof: no HeapInuse, HeapAlloc and Stack in the heap profile")
	}
	m := newMonitor(c.pid, c.pprof, time.Now())
	defer m.close()
	g, err := m.goroutines(ctx)
	if err != nil {
		return goMem{}, fds, err
	}
	return goMem{InuseKiB: (heap + stack) / 1024, LiveKiB: live / 1024, Goroutines: g}, fds, nil
}

// memStats finds "# HeapInuse = N", "# HeapAlloc = N" and
// "# Stack = INUSE / SYS", in bytes, in a heap profile written with
// debug=1.
func memStats(r io.Reader) (heap, stack, live int64, ok bool) {
	var seen int
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for sc.Scan() {
		k, v, found := strings.Cut(strings.TrimPrefix(sc.Text(), "# "), " = ")
		if !found {
			continue
		}
		var dst *int64
		switch k {
		case "HeapInuse":
			dst = &heap
		case "HeapAlloc":
			dst = &live
		case "Stack":
			dst = &stack
			v, _, _ = strings.Cut(v, " / ")
		default:
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0, 0, false
		}
		*dst = n
		seen++
	}
	return heap, stack, live, seen == 3
}

// loadavg is the first three fields of /proc/loadavg.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// writeResumeTable writes r as markdown.
func writeResumeTable(w io.Writer, r *resumeResult) {
	mib := func(k int64) string { return fmt.Sprintf("%.1f MiB", float64(k)/1024) }
	var b bytes.Buffer
	fmt.Fprintf(&b, "| sessions | logged in | bridge RSS before → attached → detached → resumed | per attached session | per detached session | Prosody RSS before → detached | per session |\n")
	fmt.Fprintf(&b, "|---------:|----------:|--------------------------------------------------:|---------------------:|---------------------:|------------------------------:|------------:|\n")
	other, otherPer := "–", "–"
	if r.ServerPID != 0 {
		other = mib(r.ServerBefore) + " → " + mib(r.ServerDetach)
		otherPer = fmt.Sprintf("%.1f KiB", r.ServerPerSess)
	}
	fmt.Fprintf(&b, "| %d | %.1f s | %s → %s → %s → %s | %.1f KiB | **%.1f KiB** | %s | %s |\n\n",
		r.Sessions, r.LoginSeconds, mib(r.RSSBeforeKiB), mib(r.RSSAttached), mib(r.RSSDetached), mib(r.RSSResumed), r.KiBAttached, r.KiBDetached, other, otherPer)
	fmt.Fprintf(&b, "| transport | resumed | failed | concurrency | p50 ms | p90 ms | p99 ms | max ms | all resumed in |\n")
	fmt.Fprintf(&b, "|-----------|--------:|-------:|------------:|----:|----:|----:|----:|---------------:|\n")
	fmt.Fprintf(&b, "| %s | %d / %d | %s | %d | %s | %s | %s | %s | %.1f s |\n\n",
		r.Transport, r.Resumed, r.Sessions, failureList(r.Failures), r.Concurrency,
		fms(r.Resume.P50), fms(r.Resume.P90), fms(r.Resume.P99), fms(r.Resume.Max), r.ResumeSeconds)
	fmt.Fprintf(&b, "Descriptors before → attached → detached: %d → %d → %d.\n\n", r.FDs[0], r.FDs[1], r.FDs[2])
	if r.Go[1].InuseKiB != 0 {
		g := r.Go
		fmt.Fprintf(&b, "After a forced collection, before → attached → detached: heap spans and stacks in use %s → %s → %s (%.1f KiB per attached session, **%.1f KiB per detached session**), live heap %s → %s → %s (%.1f and %.1f KiB), goroutines %d → %d → %d.\n\n",
			mib(g[0].InuseKiB), mib(g[1].InuseKiB), mib(g[2].InuseKiB), r.GoKiBAttached, r.GoKiBDetached,
			mib(g[0].LiveKiB), mib(g[1].LiveKiB), mib(g[2].LiveKiB), r.LiveAttached, r.LiveDetached,
			g[0].Goroutines, g[1].Goroutines, g[2].Goroutines)
	}
	fmt.Fprintf(&b, "Detached %.3f s after the cut; frames before the cut %d; resumed frames with a wrong first %d; load average %s at the start, %s at the end.\n",
		r.DetachSeconds, r.FramesBefore, r.FirstWrong, r.Load[0], r.Load[1])
	w.Write(b.Bytes())
}

// failureList is "0", or the failures by code, most first.
func failureList(f map[string]int) string {
	if len(f) == 0 {
		return "0"
	}
	codes := make([]string, 0, len(f))
	for c := range f {
		codes = append(codes, c)
	}
	sort.Slice(codes, func(i, j int) bool {
		if f[codes[i]] != f[codes[j]] {
			return f[codes[i]] > f[codes[j]]
		}
		return codes[i] < codes[j]
	})
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%d %s", f[c], c)
	}
	return strings.Join(parts, ", ")
}
