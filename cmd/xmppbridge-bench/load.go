package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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
	pathURLs
	bridgePID  int
	prosodyPID int
	testbed    string
	n          int
	rate       float64
	duration   time.Duration
	hold       time.Duration
	drain      time.Duration
	userFlags
	senders  int
	timeout  time.Duration
	jsonFile string
	each     bool // the message phase one path at a time
	rampOn   bool // search each path's saturation rate
	ramp     rampConfig
}

func load(args []string) error {
	var c loadConfig
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	c.pathURLs.flags(fs, true)
	fs.IntVar(&c.bridgePID, "bridge-pid", 0, "the bridge's process id, for /proc (0: not measured)")
	fs.IntVar(&c.prosodyPID, "prosody-pid", 0, "Prosody's process id, for /proc (0: from -testbed's pid file)")
	fs.StringVar(&c.testbed, "testbed", "", "directory of the testbed Prosody (scripts/testbed.sh start DIR), for its pid")
	fs.IntVar(&c.n, "n", 1000, "sessions in all, shared out over the paths in turn")
	fs.Float64Var(&c.rate, "rate", 500, "messages per second in all, over every path (with -each: on each path)")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "length of the message phase (with -each: of each path's)")
	fs.BoolVar(&c.each, "each", false, "set the paths' sessions up one path at a time, and run the message phase once per path, one path at a time, each at -rate, so that CPU time is attributed per path")
	fs.BoolVar(&c.rampOn, "ramp", false, "instead of one message phase, find each path's saturation rate, one path at a time (see the -ramp-* flags)")
	fs.Float64Var(&c.ramp.start, "ramp-start", 1000, "-ramp: first step's rate, messages per second")
	fs.Float64Var(&c.ramp.factor, "ramp-factor", 1.5, "-ramp: each step's rate over the one before while they pass")
	fs.Float64Var(&c.ramp.max, "ramp-max", 40000, "-ramp: highest rate tried")
	fs.IntVar(&c.ramp.refine, "ramp-refine", 2, "-ramp: bisection steps between the last rate that passed and the first that failed")
	fs.DurationVar(&c.ramp.step, "ramp-step", 5*time.Second, "-ramp: length of each step's message phase")
	fs.DurationVar(&c.ramp.bound, "ramp-p99", time.Second, "-ramp: a step whose p99 latency is above this fails")
	fs.DurationVar(&c.ramp.pause, "ramp-pause", time.Second, "-ramp: pause between steps")
	fs.IntVar(&c.ramp.retry, "ramp-retry", 1, "-ramp: times a failed step is run again before it counts")
	fs.Float64Var(&c.ramp.others, "ramp-others", 25, "-ramp: a failed step during which other processes kept more than this percentage of a core busy is disturbed: run again once they are quiet, not counted")
	fs.IntVar(&c.ramp.disturbed, "ramp-disturbed", 3, "-ramp: times a disturbed step is run again")
	fs.DurationVar(&c.hold, "hold", 5*time.Second, "time sessions are held idle before the messages")
	fs.DurationVar(&c.drain, "drain", 10*time.Second, "bound on the wait for messages still under way after the phase")
	c.userFlags.flags(fs, 64)
	fs.IntVar(&c.senders, "senders", 4, "goroutines that send messages, each at rate/senders")
	fs.DurationVar(&c.timeout, "timeout", 8*time.Minute, "bound on the whole run")
	fs.StringVar(&c.jsonFile, "json", "", "write the results as JSON to this file")
	fs.Parse(args)

	specs := c.pathURLs.specs()
	var problems []error
	if len(specs) == 0 {
		problems = append(problems, errors.New("give at least one of -bridge-ws, -prosody-ws, -bridge-bosh, -prosody-bosh, -bridge-json, -bridge-sse, -bridge-poll"))
	}
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	if fds := loadFDs(c.n, specs) + 64; c.n < 2*len(specs) || uint64(fds) > lim.Cur {
		problems = append(problems, fmt.Errorf("-n %d: needs at least %d sessions, and %d file descriptors (one a WebSocket session, two a BOSH, long-poll or events session, and headroom) under the open-file limit of %d", c.n, 2*len(specs), fds, lim.Cur))
	}
	if c.rate <= 0 || c.duration <= 0 {
		problems = append(problems, errors.New("-rate and -duration must be positive"))
	}
	if c.sources < 1 || c.sources > 250 || c.concurrency < 1 || c.senders < 1 {
		problems = append(problems, errors.New("-sources must be 1…250, -concurrency and -senders positive"))
	}
	if c.each && c.rampOn {
		problems = append(problems, errors.New("-each and -ramp exclude each other"))
	}
	if c.rampOn && (c.ramp.start <= 0 || c.ramp.factor <= 1 || c.ramp.max < c.ramp.start || c.ramp.refine < 0 || c.ramp.retry < 0 || c.ramp.disturbed < 0 || c.ramp.step <= 0 || c.ramp.bound <= 0) {
		problems = append(problems, errors.New("-ramp needs -ramp-start > 0, -ramp-factor > 1, -ramp-max ≥ -ramp-start, -ramp-refine, -ramp-retry and -ramp-disturbed ≥ 0, -ramp-step and -ramp-p99 positive"))
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
	if err := publish(&r.Command, r, c.jsonFile, func(w io.Writer) { writeTable(w, r) }); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	return nil
}

// loadFDs is the file descriptors n sessions dealt out over specs hold in
// the load tool: a WebSocket session (JSON API included) one, a BOSH or
// JSON long-poll session two while it sends beside its held request, a
// JSON events session two (the stream and the posts).
func loadFDs(n int, specs []pathSpec) int {
	fds := 0
	for i := range n {
		fds += kindFDs(specs[i%len(specs)].kind)
	}
	return fds
}

// kindFDs is the file descriptors a session of a path of kind holds at
// most.
func kindFDs(kind string) int {
	switch kind {
	case "bosh", "poll", "sse":
		return 2
	}
	return 1
}

// session is one logged-in user on one path.
type session struct {
	path    int
	user    string
	src     net.IP // the local address it connects from
	stream  Stream
	sp      spelling // how stream spells the load test's stanzas
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
		sess[i] = &session{path: i % len(paths), user: c.prefix + strconv.Itoa(i), src: net.IPv4(127, 0, 0, byte(2+i%c.sources)), next: 1, done: make(chan struct{})}
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

	byPath := make([][]*session, len(paths))
	for _, s := range sess {
		byPath[s.path] = append(byPath[s.path], s)
	}
	defer closeAll(sess)
	var setups []*setupCPU
	if c.each {
		// One path at a time, so that what the bridge and Prosody spend
		// on each path's logins is that path's alone.
		for i := range paths {
			setups = append(setups, rn.setupPath(ctx, paths, i, byPath[i]))
		}
	} else {
		rn.setupAll(ctx, "setup", paths, sess)
		time.Sleep(setupSettle) // before Bound, as setupPath does
	}
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
	var phases []*stepResult
	var ramps []*rampResult
	switch {
	case c.rampOn:
		for i, p := range paths {
			rn.quiesce(ctx)
			ramps = append(ramps, rn.runRamp(ctx, p.Name(), byPath[i]))
		}
		rn.quiesce(ctx)
	case c.each:
		for i, p := range paths {
			rn.quiesce(ctx)
			st := rn.step(ctx, byPath[i], c.rate, c.duration)
			fmt.Fprintf(os.Stderr, "each     %-12s %6.0f/s: %s\n", p.Name(), c.rate, st.verdict())
			phases = append(phases, st)
		}
		// The per-path tallies below count what has not arrived as lost.
		rn.quiesce(ctx)
	default:
		stopProgress := progress(rn, "messages", func() string {
			el := time.Since(start).Seconds()
			return fmt.Sprintf("%.0fs sent %d received %d (%.0f/s)", el, rn.sent.Load(), rn.received.Load(), float64(rn.sent.Load())/el)
		})
		rn.messages(ctx, sess, c.rate, start.Add(c.duration))
		rn.drainAll(ctx)
		stopProgress()
	}
	phase := time.Since(start)
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
		Mode:      "mixed",
		Rate:      c.rate,
		Achieved:  float64(rn.sent.Load()) / phase.Seconds(),
		Duration:  c.duration.String(),
		GoVersion: runtime.Version(),
	}
	if c.each || c.rampOn {
		r.Mode = "each"
		r.Achieved = 0
		if c.rampOn {
			r.Mode, r.Rate, r.Duration = "ramp", 0, c.ramp.step.String()
		}
	}
	for i, p := range paths {
		pr := tally(sess, i)
		pr.Path = p.Name()
		pr.ViaBridge = specs[i].viaBridge
		if phases != nil {
			pr.Phase = phases[i]
		}
		if ramps != nil {
			pr.Ramp = ramps[i]
		}
		if setups != nil {
			pr.SetupCPU = setups[i]
			setups[i].derive(pr.Established)
		}
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

// setupSettle is how long the bridge and Prosody are given, once the last
// login has returned, to finish what it set off (initial presence sent and
// echoed back, a garbage collection) before their CPU time is read.
const setupSettle = 200 * time.Millisecond

// setupAll sets up sess, cfg.concurrency at a time, with a progress line.
func (rn *run) setupAll(ctx context.Context, label string, paths []Path, sess []*session) {
	stopProgress := progress(rn, label, func() string {
		return fmt.Sprintf("bound %d, failed %d, of %d", rn.bound.Load(), rn.failed.Load(), rn.cfg.n)
	})
	var wg sync.WaitGroup
	sem := make(chan struct{}, rn.cfg.concurrency)
	for _, s := range sess {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rn.setup(ctx, paths[s.path], s)
		}()
	}
	wg.Wait()
	stopProgress()
}

// setupPath sets up the sessions of path i, sess, with no other path's
// being set up meanwhile, and measures the CPU time the bridge and Prosody
// spent from the first login to setupSettle after the last.
func (rn *run) setupPath(ctx context.Context, paths []Path, i int, sess []*session) *setupCPU {
	b0, _ := sample(rn.cfg.bridgePID)
	p0, _ := sample(rn.cfg.prosodyPID)
	start := time.Now()
	rn.setupAll(ctx, "setup "+paths[i].Name(), paths, sess)
	wall := time.Since(start)
	time.Sleep(setupSettle)
	b1, _ := sample(rn.cfg.bridgePID)
	p1, _ := sample(rn.cfg.prosodyPID)
	return &setupCPU{Seconds: wall.Seconds(), bridgeNs: b1.CPUNs - b0.CPUNs, prosodyNs: p1.CPUNs - p0.CPUNs}
}

// setup connects and logs in one session and starts its reader.
func (rn *run) setup(ctx context.Context, p Path, s *session) {
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(ctx, ioTimeout)
	defer cancel()
	st, err := p.Dial(ctx, s.src)
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
	s.stream, s.sp, s.jid = st, spellingOf(st), jid
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
		k, p, ok := s.sp.inspect(el)
		if k == elemEnd {
			s.mu.Lock()
			s.err = fmt.Errorf("server: %.200s", el)
			s.mu.Unlock()
		}
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

// messages runs a message phase until end: cfg.senders goroutines, each
// serving its share of the sessions in turn at rate/senders. A goroutine
// that falls behind sends at once until it has caught up, so the rate holds
// on average. Each session is served by one goroutine only, which keeps its
// messages in order and its stream with one writer.
func (rn *run) messages(ctx context.Context, sess []*session, rate float64, end time.Time) {
	w := min(rn.cfg.senders, len(sess))
	interval := time.Duration(float64(time.Second) * float64(w) / rate)
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
				buf = s.sp.appendMessage(buf[:0], s.partner.jid, probe{seq: s.seq, sent: time.Since(rn.base)})
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

// drainAll waits, at most cfg.drain, for every message sent to arrive.
func (rn *run) drainAll(ctx context.Context) {
	end := time.Now().Add(rn.cfg.drain)
	for rn.received.Load() < rn.sent.Load() && time.Now().Before(end) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
}

// quiesce waits, at most half a minute, until every message sent so far
// has arrived, so that a path's phase does not carry what the path before
// it left under way.
func (rn *run) quiesce(ctx context.Context) {
	end := time.Now().Add(30 * time.Second)
	for rn.received.Load() < rn.sent.Load() && time.Now().Before(end) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
}

// step runs one message phase on sess alone (one path's sessions) at rate
// for d, waits at most cfg.drain for what is still under way, and measures
// the phase: its messages, their latency, and the CPU time the bridge and
// Prosody spent from its start to the end of the drain.
func (rn *run) step(ctx context.Context, sess []*session, rate float64, d time.Duration) *stepResult {
	type mark struct {
		seq, received, reordered int64
		lat                      int
		done                     bool
	}
	marks := make([]mark, len(sess))
	for i, s := range sess {
		s.mu.Lock()
		marks[i] = mark{seq: s.seq, received: s.received, reordered: s.reordered, lat: len(s.lat), done: isDone(s)}
		s.mu.Unlock()
	}
	// counts adds up what happened since the marks.
	counts := func() (sent, received, reordered int64) {
		for i, s := range sess {
			s.mu.Lock()
			received += s.received - marks[i].received
			reordered += s.reordered - marks[i].reordered
			s.mu.Unlock()
			sent += s.seq - marks[i].seq // the senders have stopped
		}
		return
	}
	b0, _ := sample(rn.cfg.bridgePID)
	p0, _ := sample(rn.cfg.prosodyPID)
	t0, _ := sample(os.Getpid())
	m0, _ := machineBusy()
	start := time.Now()
	rn.messages(ctx, sess, rate, start.Add(d))
	length := time.Since(start)
	sent, delivered, _ := counts()
	end := time.Now().Add(rn.cfg.drain)
	for ctx.Err() == nil && time.Now().Before(end) {
		if _, received, _ := counts(); received >= sent {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b1, _ := sample(rn.cfg.bridgePID)
	p1, _ := sample(rn.cfg.prosodyPID)
	t1, _ := sample(os.Getpid())
	m1, _ := machineBusy()
	sent, received, reordered := counts()

	m := stepMeasure{offered: rate, sent: sent, delivered: delivered, received: received, reordered: reordered, length: length}
	var lat []time.Duration
	for i, s := range sess {
		s.mu.Lock()
		lat = append(lat, s.lat[marks[i].lat:]...)
		s.mu.Unlock()
		if s.stream != nil && !marks[i].done && isDone(s) {
			m.dead++
		}
	}
	st := &stepResult{
		Rate:      rate,
		SentRate:  float64(sent) / length.Seconds(),
		Delivered: float64(delivered) / length.Seconds(),
		Messages:  sent,
		Lost:      max(sent-received, 0),
		Reordered: reordered,
		Dead:      m.dead,
		Latency:   summarise(lat),
		measure:   m,
	}
	m.p99 = time.Duration(st.Latency.P99 * float64(time.Millisecond))
	st.measure = m
	cpu := func(a, b procSample) (percent, usPerMsg float64) {
		dt := float64(b.CPUNs - a.CPUNs)
		percent = dt / float64(elapsed) * 100
		if sent > 0 {
			usPerMsg = dt / 1e3 / float64(sent)
		}
		return
	}
	if rn.cfg.bridgePID != 0 {
		st.BridgeCPUPercent, st.BridgeUsPerMsg = cpu(b0, b1)
	}
	if rn.cfg.prosodyPID != 0 {
		st.ProsodyCPUPercent, st.ProsodyUsPerMsg = cpu(p0, p1)
	}
	st.ToolCPUPercent, _ = cpu(t0, t1)
	// The rest of the machine: what its CPUs did besides the three
	// processes under test. On a shared machine this is why a step
	// can fail with no process of ours at full load.
	ours := (b1.CPUNs - b0.CPUNs) + (p1.CPUNs - p0.CPUNs) + (t1.CPUNs - t0.CPUNs)
	if m0 > 0 && m1 > 0 {
		st.OtherCPUPercent = max(float64(m1-m0-ours), 0) / float64(elapsed) * 100
	}
	st.Pass, st.Why = judgeStep(m, rn.cfg.ramp.bound)
	return st
}

// isDone reports whether s's reader has stopped.
func isDone(s *session) bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
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
	model, cpus := "unknown CPU", 0
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok && cpus == 0 {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
			}
			if strings.HasPrefix(l, "processor") {
				cpus++
			}
		}
	}
	if cpus == 0 {
		cpus = runtime.NumCPU()
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
	pinned := ""
	if n := runtime.NumCPU(); n < cpus {
		pinned = fmt.Sprintf(" (the load tool on %d of them)", n)
	}
	return fmt.Sprintf("%d × %s%s, Linux %s", cpus, model, pinned, rel)
}
