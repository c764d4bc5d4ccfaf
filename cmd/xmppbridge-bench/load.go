package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// loadConfig is the load subcommand's flags.
type loadConfig struct {
	bridgeWS, prosodyWS string
	prosodyBOSH         string
	bridgePID           int
	prosodyPID          int
	testbed             string
	n                   int
	rate                float64
	duration            time.Duration
	hold                time.Duration
	drain               time.Duration
	domain              string
	prefix, password    string
	sources             int
	concurrency         int
	senders             int
	timeout             time.Duration
	jsonFile            string
}

func load(args []string) error {
	var c loadConfig
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	fs.StringVar(&c.bridgeWS, "bridge-ws", "", "the bridge's WebSocket URL (path bridge-ws); empty: not run")
	fs.StringVar(&c.prosodyWS, "prosody-ws", "", "Prosody's own WebSocket URL (path prosody-ws); empty: not run")
	fs.StringVar(&c.prosodyBOSH, "prosody-bosh", "", "Prosody's own BOSH URL (path prosody-bosh); empty: not run")
	fs.IntVar(&c.bridgePID, "bridge-pid", 0, "the bridge's process id, for /proc (0: not measured)")
	fs.IntVar(&c.prosodyPID, "prosody-pid", 0, "Prosody's process id, for /proc (0: from -testbed's pid file)")
	fs.StringVar(&c.testbed, "testbed", "", "directory of the testbed Prosody (scripts/testbed.sh start DIR), for its pid")
	fs.IntVar(&c.n, "n", 1000, "sessions in all, shared out over the paths in turn")
	fs.Float64Var(&c.rate, "rate", 500, "messages per second in all, over every path")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "length of the message phase")
	fs.DurationVar(&c.hold, "hold", 5*time.Second, "time sessions are held idle before the messages")
	fs.DurationVar(&c.drain, "drain", 10*time.Second, "bound on the wait for messages still under way after the phase")
	fs.StringVar(&c.domain, "domain", "localhost", "XMPP domain")
	fs.StringVar(&c.prefix, "prefix", "load", "user names are PREFIX0…PREFIX{n-1} (see the users subcommand)")
	fs.StringVar(&c.password, "password", "secret", "password of every user")
	fs.IntVar(&c.sources, "sources", 16, "local source addresses 127.0.0.2… to spread connections over")
	fs.IntVar(&c.concurrency, "concurrency", 64, "sessions being set up at once")
	fs.IntVar(&c.senders, "senders", 4, "goroutines that send messages, each at rate/senders")
	fs.DurationVar(&c.timeout, "timeout", 8*time.Minute, "bound on the whole run")
	fs.StringVar(&c.jsonFile, "json", "", "write the results as JSON to this file")
	fs.Parse(args)

	var specs []pathSpec
	if c.bridgeWS != "" {
		specs = append(specs, pathSpec{name: "bridge-ws", kind: "ws", url: c.bridgeWS, viaBridge: true})
	}
	if c.prosodyWS != "" {
		specs = append(specs, pathSpec{name: "prosody-ws", kind: "ws", url: c.prosodyWS})
	}
	if c.prosodyBOSH != "" {
		specs = append(specs, pathSpec{name: "prosody-bosh", kind: "bosh", url: c.prosodyBOSH})
	}
	var problems []error
	if len(specs) == 0 {
		problems = append(problems, errors.New("give at least one of -bridge-ws, -prosody-ws, -prosody-bosh"))
	}
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	if c.n < 2*len(specs) || uint64(c.n)+64 > lim.Cur {
		problems = append(problems, fmt.Errorf("-n must be %d…%d (one file descriptor each, under the open-file limit)", 2*len(specs), int64(lim.Cur)-64))
	}
	if c.rate <= 0 || c.duration <= 0 {
		problems = append(problems, errors.New("-rate and -duration must be positive"))
	}
	if c.sources < 1 || c.sources > 250 || c.concurrency < 1 || c.senders < 1 {
		problems = append(problems, errors.New("-sources must be 1…250, -concurrency and -senders positive"))
	}
	if c.prosodyPID == 0 && c.testbed != "" {
		b, err := os.ReadFile(c.testbed + "/testbed.pid")
		if err != nil {
			problems = append(problems, err)
		} else {
			c.prosodyPID, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
	}
	if err := errors.Join(problems...); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	var paths []Path
	for _, s := range specs {
		p, err := newPath(s.name, s.kind, s.url)
		if err != nil {
			return fmt.Errorf("load: %w", err)
		}
		paths = append(paths, p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	r, err := runLoad(ctx, c, specs, paths)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	r.Command = strings.Join(os.Args, " ")
	if c.jsonFile != "" {
		b, _ := json.MarshalIndent(r, "", "  ")
		if err := os.WriteFile(c.jsonFile, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("load: %w", err)
		}
	}
	writeTable(os.Stdout, r)
	return nil
}

// pathSpec names a path and says whether its traffic crosses the bridge.
type pathSpec struct {
	name, kind, url string
	viaBridge       bool
}

// session is one logged-in user on one path.
type session struct {
	path    int
	user    string
	stream  Stream
	jid     string
	partner *session // whom this session sends to; nil: it only listens
	setup   time.Duration
	err     error         // why setup failed, or why the reader stopped
	done    chan struct{} // closed when the reader has stopped

	// Owned by the one sender goroutine that serves this session.
	seq  int64 // messages sent, and the last sequence number
	dead bool

	mu        sync.Mutex // the reader's counts, read by the reporter
	next      int64      // sequence number expected next from the partner
	received  int64
	reordered int64
	lat       []time.Duration
}

// run is the state of one load run shared by its goroutines.
type run struct {
	cfg      loadConfig
	base     time.Time // probes carry times relative to it
	bound    atomic.Int64
	failed   atomic.Int64
	sent     atomic.Int64
	received atomic.Int64
}

func runLoad(ctx context.Context, c loadConfig, specs []pathSpec, paths []Path) (*results, error) {
	rn := &run{cfg: c, base: time.Now()}
	bridge := &procResult{PID: c.bridgePID}
	prosody := &procResult{PID: c.prosodyPID}
	var err error
	if bridge.Before, err = sample(bridge.PID); err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	if prosody.Before, err = sample(prosody.PID); err != nil {
		return nil, fmt.Errorf("prosody: %w", err)
	}

	// Sessions go to the paths in turn, so every path is set up, held and
	// loaded over the same stretch of time on the same machine.
	sess := make([]*session, c.n)
	for i := range sess {
		sess[i] = &session{path: i % len(paths), user: c.prefix + strconv.Itoa(i), next: 1, done: make(chan struct{})}
	}
	// Partners are neighbours on the same path, each sending to the other.
	for p := range paths {
		var on []*session
		for _, s := range sess {
			if s.path == p {
				on = append(on, s)
			}
		}
		for k := 0; k+1 < len(on); k += 2 {
			on[k].partner, on[k+1].partner = on[k+1], on[k]
		}
	}

	stopProgress := progress(rn, "setup", func() string {
		return fmt.Sprintf("bound %d, failed %d, of %d", rn.bound.Load(), rn.failed.Load(), c.n)
	})
	var wg sync.WaitGroup
	sem := make(chan struct{}, c.concurrency)
	for i, s := range sess {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rn.setup(ctx, paths[s.path], s, net.IPv4(127, 0, 0, byte(2+i%c.sources)))
		}()
	}
	wg.Wait()
	stopProgress()
	defer closeAll(sess)
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	if bridge.Bound, err = sample(bridge.PID); err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	if prosody.Bound, err = sample(prosody.PID); err != nil {
		return nil, fmt.Errorf("prosody: %w", err)
	}
	time.Sleep(c.hold)
	if bridge.Held, err = sample(bridge.PID); err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	if prosody.Held, err = sample(prosody.PID); err != nil {
		return nil, fmt.Errorf("prosody: %w", err)
	}

	start := time.Now()
	stopProgress = progress(rn, "messages", func() string {
		el := time.Since(start).Seconds()
		return fmt.Sprintf("%.0fs sent %d received %d (%.0f/s)", el, rn.sent.Load(), rn.received.Load(), float64(rn.sent.Load())/el)
	})
	rn.messages(ctx, sess, start.Add(c.duration))
	phase := time.Since(start)
	drainEnd := time.Now().Add(c.drain)
	for rn.received.Load() < rn.sent.Load() && time.Now().Before(drainEnd) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	stopProgress()
	if bridge.After, err = sample(bridge.PID); err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	if prosody.After, err = sample(prosody.PID); err != nil {
		return nil, fmt.Errorf("prosody: %w", err)
	}

	r := &results{
		Started:   rn.base.UTC(),
		Machine:   machine(),
		Sessions:  c.n,
		Rate:      c.rate,
		Achieved:  float64(rn.sent.Load()) / phase.Seconds(),
		Duration:  c.duration.String(),
		GoVersion: runtime.Version(),
	}
	for i, p := range paths {
		pr := tally(sess, i)
		pr.Path = p.Name()
		r.Paths = append(r.Paths, pr)
		prosody.Sessions += pr.Established
		prosody.Messages += pr.Sent
		if specs[i].viaBridge {
			bridge.Sessions += pr.Established
			bridge.Messages += pr.Sent
		}
	}
	bridge.derive(c.hold)
	prosody.derive(c.hold)
	if bridge.PID != 0 {
		r.Bridge = bridge
	}
	if prosody.PID != 0 {
		r.Prosody = prosody
	}
	return r, nil
}

// setup connects and logs in one session and starts its reader.
func (rn *run) setup(ctx context.Context, p Path, s *session, src net.IP) {
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(ctx, ioTimeout)
	defer cancel()
	st, err := p.Dial(ctx, src)
	if err != nil {
		s.err = fmt.Errorf("dial: %w", err)
		rn.failed.Add(1)
		close(s.done)
		return
	}
	jid, err := login(ctx, st, rn.cfg.domain, s.user, rn.cfg.password)
	if err != nil {
		st.Close()
		s.err = err
		rn.failed.Add(1)
		close(s.done)
		return
	}
	s.setup = time.Since(t0)
	s.stream, s.jid = st, jid
	rn.bound.Add(1)
	go rn.read(s)
}

// read is a session's one reader: it checks and times every message.
func (rn *run) read(s *session) {
	defer close(s.done)
	for {
		el, err := s.stream.Recv()
		if err != nil {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			return
		}
		if !bytes.HasPrefix(el, []byte("<message")) {
			if bytes.HasPrefix(el, []byte("<close")) || bytes.Contains(el[:min(len(el), 20)], []byte("error")) {
				s.mu.Lock()
				s.err = fmt.Errorf("server: %.200s", el)
				s.mu.Unlock()
			}
			continue
		}
		p, ok := parseProbe(el)
		if !ok {
			continue
		}
		lat := time.Since(rn.base) - p.sent
		s.mu.Lock()
		switch {
		case p.seq < s.next:
			s.reordered++
		default:
			s.next = p.seq + 1
		}
		s.received++
		s.lat = append(s.lat, lat)
		s.mu.Unlock()
		rn.received.Add(1)
	}
}

// messages runs the message phase until end: cfg.senders goroutines, each
// serving its share of the sessions in turn at rate/senders. A goroutine
// that falls behind sends at once until it has caught up, so the rate holds
// on average. Each session is served by one goroutine only, which keeps its
// messages in order and its stream with one writer.
func (rn *run) messages(ctx context.Context, sess []*session, end time.Time) {
	w := min(rn.cfg.senders, len(sess))
	interval := time.Duration(float64(time.Second) * float64(w) / rn.cfg.rate)
	var wg sync.WaitGroup
	for k := range w {
		var mine []*session
		for i := k; i < len(sess); i += w {
			if s := sess[i]; s.partner != nil && s.stream != nil && s.partner.stream != nil {
				mine = append(mine, s)
			}
		}
		if len(mine) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 256)
			// Offset the goroutines so their sends interleave.
			next := time.Now().Add(interval * time.Duration(k) / time.Duration(w))
			for j := 0; ctx.Err() == nil; j++ {
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
				if !time.Now().Before(end) {
					return
				}
				next = next.Add(interval)
				s := mine[j%len(mine)]
				if s.dead {
					continue
				}
				s.seq++
				buf = appendMessage(buf[:0], s.partner.jid, probe{seq: s.seq, sent: time.Since(rn.base)})
				if err := s.stream.Send(buf); err != nil {
					s.seq--
					s.dead = true
					continue
				}
				rn.sent.Add(1)
			}
		}()
	}
	wg.Wait()
}

// tally adds up one path's sessions.
func tally(sess []*session, path int) *pathResult {
	var pr pathResult
	var setup, lat []time.Duration
	for _, s := range sess {
		if s.path != path {
			continue
		}
		pr.Sessions++
		if s.stream == nil {
			pr.SetupFailed++
			if pr.FirstError == "" && s.err != nil {
				pr.FirstError = s.user + ": " + s.err.Error()
			}
			continue
		}
		pr.Established++
		setup = append(setup, s.setup)
		select {
		case <-s.done:
			s.mu.Lock()
			if pr.FirstError == "" && s.err != nil {
				pr.FirstError = s.user + ": " + s.err.Error()
			}
			s.mu.Unlock()
		default:
			pr.Held++
		}
		if s.partner != nil {
			pr.Sent += s.seq
			p := s.partner
			p.mu.Lock()
			pr.Lost += s.seq - p.received
			p.mu.Unlock()
		}
		s.mu.Lock()
		pr.Received += s.received
		pr.Reordered += s.reordered
		lat = append(lat, s.lat...)
		s.mu.Unlock()
	}
	pr.Setup = summarise(setup)
	pr.Latency = summarise(lat)
	return &pr
}

// closeAll ends every session and waits a little for the readers to see it.
func closeAll(sess []*session) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, s := range sess {
		if s.stream == nil {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			s.stream.Close()
		}()
	}
	wg.Wait()
	deadline := time.After(5 * time.Second)
	for _, s := range sess {
		if s.stream == nil {
			continue
		}
		select {
		case <-s.done:
		case <-deadline:
			return
		}
	}
}

// progress rewrites one status line on stderr every second until stopped.
func progress(rn *run, phase string, line func() string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				fmt.Fprintf(os.Stderr, "\r%-8s %-70s\n", phase, line())
				return
			case <-t.C:
				fmt.Fprintf(os.Stderr, "\r%-8s %-70s", phase, line())
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// machine describes the machine for the results.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	var u syscall.Utsname
	syscall.Uname(&u)
	rel := make([]byte, 0, len(u.Release))
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		rel = append(rel, byte(c))
	}
	return fmt.Sprintf("%d × %s, Linux %s", runtime.NumCPU(), model, rel)
}
