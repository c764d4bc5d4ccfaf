package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The soak (xmppbridge-bench soak) keeps a few hundred users logged in
// through every transport of the bridge at a moderate message rate for a
// long while, injects faults on a schedule (soak_faults.go), and checks
// that nothing was lost, duplicated or reordered that should have been
// kept, that no session ended that nothing ended, and that the bridge's
// goroutines, descriptors and memory come back to their baseline once the
// sessions are gone (soak_report.go, soak_resources.go).
//
// A user is one browser: it logs in over its path, and whenever its
// session ends (a fault, or wrongly) it logs in afresh, with the same
// resource, so its full JID stays what its sender writes to. Each user
// sends to one partner, on another path where there are several; every
// message carries the sender's number, a sequence number and the send time.

// soakConfig is the soak subcommand's flags.
type soakConfig struct {
	pathURLs
	bridgePID     int
	pprof         string // the bridge's -pprof address
	testbed       string // the testbed Prosody's directory
	testbedScript string
	n             int
	rate          float64
	duration      time.Duration
	grace         time.Duration
	settle        time.Duration
	sample        time.Duration
	userFlags
	reconnect    time.Duration
	faults       faultConfig
	excuseBefore time.Duration
	deliverBound time.Duration
	maxStanza    int
	slack        leakSlack
	timeout      time.Duration
	jsonFile     string
	quiet        bool // no progress lines
}

func soak(args []string) error {
	var c soakConfig
	fs := flag.NewFlagSet("soak", flag.ExitOnError)
	c.pathURLs.flags(fs, false)
	fs.IntVar(&c.bridgePID, "bridge-pid", 0, "the bridge's process id, for its RSS and descriptors in /proc (required)")
	fs.StringVar(&c.pprof, "pprof", "", "the bridge's -pprof address, for its goroutine count (required)")
	fs.StringVar(&c.testbed, "testbed", "", "directory of the testbed Prosody behind the bridge (scripts/testbed.sh start DIR): its pid to hang, and where to restart it (required with -server-every)")
	fs.StringVar(&c.testbedScript, "testbed-script", "scripts/testbed.sh", "the testbed script, to stop and start Prosody")
	fs.IntVar(&c.n, "n", 250, "users, dealt out over the paths in turn")
	fs.Float64Var(&c.rate, "rate", 100, "messages per second in all")
	fs.DurationVar(&c.duration, "duration", 30*time.Minute, "length of the message phase, during which faults are injected")
	fs.DurationVar(&c.grace, "grace", 20*time.Second, "bound on the wait, after the message phase, for messages under way and sessions logging in again")
	fs.DurationVar(&c.settle, "settle", 2*time.Minute, "bound on the wait, once every session is closed, for the bridge's goroutines and descriptors to come back to the baseline (sessions dropped without a word end at the bridge's inactivity timeout)")
	fs.DurationVar(&c.sample, "sample", 5*time.Second, "interval between readings of the bridge's RSS, descriptors and goroutines")
	c.userFlags.flags(fs, 32)
	fs.DurationVar(&c.reconnect, "reconnect", 500*time.Millisecond, "pause before a user whose session ended logs in again (and the first of its backoff after a failed login)")
	c.faults.flags(fs)
	fs.DurationVar(&c.excuseBefore, "excuse-before", 5*time.Second, "a message sent up to this long before a fault on its sender, its receiver or the server began is excused by it (it may have been under way)")
	fs.DurationVar(&c.deliverBound, "deliver-bound", 30*time.Second, "a message not received is excused only by a fault that began within this long after it was sent")
	fs.IntVar(&c.maxStanza, "max-stanza", 262144, "the bridge's [limits] max_stanza_bytes, for the oversize faults")
	fs.IntVar(&c.slack.goroutines, "goroutine-slack", 5, "at the end, the bridge's goroutines may exceed the baseline by this many")
	fs.IntVar(&c.slack.fds, "fd-slack", 2, "at the end, the bridge's descriptors may exceed the baseline by this many")
	fs.Float64Var(&c.slack.rssMiB, "rss-slack", 64, "at the end, the bridge's RSS may exceed the baseline by this many MiB (the Go runtime returns freed memory to the system slowly)")
	fs.DurationVar(&c.timeout, "timeout", 0, "bound on the whole run (0: duration + grace + settle + 5 minutes)")
	fs.StringVar(&c.jsonFile, "json", "", "write the results as JSON to this file")
	fs.Parse(args)
	if err := c.check(); err != nil {
		return fmt.Errorf("soak: %w", err)
	}
	if c.timeout == 0 {
		c.timeout = c.duration + c.grace + c.settle + 5*time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	r, err := runSoak(ctx, c, os.Stderr)
	if err != nil {
		return fmt.Errorf("soak: %w", err)
	}
	if err := publish(&r.Command, r, c.jsonFile, func(w io.Writer) { writeSoakTables(w, r) }); err != nil {
		return fmt.Errorf("soak: %w", err)
	}
	if !r.Pass {
		return fmt.Errorf("soak: FAIL: %s", strings.Join(r.Problems, "; "))
	}
	return nil
}

// check reports every problem with the flags at once.
func (c *soakConfig) check() error {
	var problems []error
	specs := c.pathURLs.specs()
	if len(specs) == 0 {
		problems = append(problems, errors.New("give at least one of -bridge-ws, -bridge-bosh, -bridge-json, -bridge-sse, -bridge-poll"))
	}
	if c.bridgePID == 0 || c.pprof == "" {
		problems = append(problems, errors.New("-bridge-pid and -pprof are required: the soak watches the bridge's resources"))
	}
	var lim syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	if len(specs) > 0 {
		// A user being dropped may hold its old connections a moment
		// beside its new ones.
		if fds := 2*loadFDs(c.n, specs) + 64; c.n < 2 || uint64(fds) > lim.Cur {
			problems = append(problems, fmt.Errorf("-n %d: needs at least 2 users and %d file descriptors under the open-file limit of %d", c.n, fds, lim.Cur))
		}
	}
	if c.rate <= 0 || c.duration <= 0 || c.grace < 0 || c.settle < 0 || c.sample <= 0 {
		problems = append(problems, errors.New("-rate, -duration and -sample must be positive, -grace and -settle not negative"))
	}
	if c.sources < 1 || c.sources > 250 || c.concurrency < 1 {
		problems = append(problems, errors.New("-sources must be 1…250, -concurrency positive"))
	}
	if c.maxStanza < 1024 {
		problems = append(problems, errors.New("-max-stanza must be at least 1024, as the bridge's"))
	}
	if err := c.faults.check(c.testbed); err != nil {
		problems = append(problems, err)
	}
	return errors.Join(problems...)
}

// soakUser is one browser user: its sessions one after another.
type soakUser struct {
	id      int // the probe's from is id+1
	name    string
	path    int
	src     net.IP
	partner *soakUser
	poison  bool // sends poison stanzas (soak_faults.go)

	// The sender's own; read by the report once the senders are done.
	sent []sentMsg // to partner, index seq-1

	mu     sync.Mutex
	cur    *incarnation // nil while logged out
	faults []faultWindow
	recv   map[int]*pairRecv // by sender id
	ends   []sessionEnd      // every session that ended other than by the tool's hand
	logins int
	failed int    // logins that failed
	firstE string // the first failed login's error
}

// sentMsg is one message a user sent.
type sentMsg struct {
	at     time.Duration // since the run's base
	failed bool          // Send returned an error: not counted as sent
	poison bool
}

// pairRecv is what a receiver got from one sender.
type pairRecv struct {
	count     []uint8         // index seq-1: times it arrived
	at        []time.Duration // index seq-1: when it first arrived
	max       int64           // highest seq arrived
	anomalies []anomaly
}

// anomaly is a duplicate or an arrival after a later message.
type anomaly struct {
	seq       int64
	at        time.Duration
	duplicate bool // else reordered
}

// incarnation is one session of a user: one login, until it ends.
type incarnation struct {
	st    Stream
	sp    spelling
	path  int
	since time.Duration
	done  chan struct{} // closed when the reader has stopped

	wmu sync.Mutex // one writer at a time: the sender, a fault, Close

	byTool atomic.Bool  // the tool dropped or closed it: its end is not judged
	stall  atomic.Int64 // a slow-reader fault: the reader stops for this long

	mu     sync.Mutex
	err    error        // why Recv stopped
	endEl  []byte       // the last stream error, close or error frame received
	expect *expectation // a malformed input was sent: what must follow
}

// soakRun is the state of one soak shared by its goroutines.
type soakRun struct {
	cfg   soakConfig
	specs []pathSpec
	paths []Path
	base  time.Time
	users []*soakUser
	sem   chan struct{} // logins under way
	log   *os.File      // progress lines; nil: none

	stopping atomic.Bool   // the run is closing every session
	stop     chan struct{} // closed when it does
	lives    sync.WaitGroup

	mu        sync.Mutex
	server    []faultWindow // faults on the server, for every user
	malformed []*expectation
	injected  map[string]int // faults injected, by kind
	stray     int64          // probes from nobody who sends to their receiver
	up        int            // users logged in now
}

// now is the time since the run's base, as probes and fault windows say
// it.
func (sk *soakRun) now() time.Duration { return time.Since(sk.base) }

func runSoak(ctx context.Context, c soakConfig, progress *os.File) (*soakResults, error) {
	sk := &soakRun{cfg: c, specs: c.pathURLs.specs(), base: time.Now(), stop: make(chan struct{}), injected: map[string]int{}, log: progress}
	if c.quiet {
		sk.log = nil
	}
	for _, s := range sk.specs {
		p, err := newPath(s.name, s.kind, s.url)
		if err != nil {
			return nil, err
		}
		sk.paths = append(sk.paths, p)
	}
	sk.sem = make(chan struct{}, c.concurrency)
	mon := newMonitor(c.bridgePID, c.pprof, sk.base)
	defer mon.close()
	baseline, err := mon.baseline(ctx)
	if err != nil {
		return nil, fmt.Errorf("bridge baseline: %w", err)
	}
	stopSampling := mon.run(sk, c.sample)
	defer stopSampling()

	sk.users = makeUsers(c, len(sk.paths), sk.kindOf)
	sk.logf("soak: %d users over %d paths, %.0f msg/s for %s; baseline: %s", len(sk.users), len(sk.paths), c.rate, c.duration, baseline)
	mon.setPhase("setup")
	for _, u := range sk.users {
		sk.lives.Add(1)
		go sk.life(ctx, u)
	}
	sk.waitUp(ctx, time.Now().Add(2*time.Minute))
	sk.mu.Lock()
	startedUp := sk.up
	sk.mu.Unlock()

	mon.setPhase("run")
	start := time.Now()
	end := start.Add(c.duration)
	var senders sync.WaitGroup
	for _, u := range sk.users {
		senders.Add(1)
		go func() {
			defer senders.Done()
			sk.send(ctx, u, start, end)
		}()
	}
	stopFaults := sk.injectFaults(ctx, start, end)
	stopProgress := sk.progress(start)
	senders.Wait()
	stopFaults()

	mon.setPhase("grace")
	sk.drain(ctx, time.Now().Add(c.grace))
	stopProgress()

	mon.setPhase("closing")
	sk.stopping.Store(true)
	close(sk.stop)
	sk.lives.Wait()
	mon.setPhase("settle")
	final := mon.settle(ctx, baseline, c.slack, c.settle)
	stopSampling()
	leftover := ""
	if !c.slack.within(final, baseline) {
		leftover = mon.profile(ctx)
	}

	r := sk.report(baseline, final, mon.samples())
	r.Leftover = leftover
	if startedUp < len(sk.users) {
		r.Problems = append(r.Problems, fmt.Sprintf("only %d of %d users were logged in when the messages began", startedUp, len(sk.users)))
	}
	if sent := r.sent(); sent == 0 {
		r.Problems = append(r.Problems, "no message was sent")
	}
	r.Pass = len(r.Problems) == 0
	r.Started = sk.base.UTC()
	return r, ctx.Err()
}

// kindOf is the kind of path i.
func (sk *soakRun) kindOf(i int) string { return sk.specs[i].kind }

// makeUsers deals n users out over np paths in turn and pairs them: in
// each group of np² users the partner of the user on path p in row b is
// on path p+1+b of the next row, so every path sends to every path
// (itself included) and every user hears from exactly one sender. Users
// past the last whole group send to the next of them in a ring. Poison
// senders are users on XML paths, chosen so their partners cover as many
// paths as they can.
func makeUsers(c soakConfig, np int, kindOf func(int) string) []*soakUser {
	users := make([]*soakUser, c.n)
	for i := range users {
		users[i] = &soakUser{id: i, name: c.prefix + strconv.Itoa(i), path: i % np, src: net.IPv4(127, 0, 0, byte(2+i%c.sources)), recv: map[int]*pairRecv{}}
	}
	group := np * np
	whole := c.n / group * group
	if np == 1 {
		whole = 0 // one path: a ring
	}
	for i := 0; i < whole; i++ {
		g, b, p := i/group, i%group/np, i%np
		users[i].partner = users[g*group+(b+1)%np*np+(p+1+b)%np]
	}
	for i := whole; i < c.n; i++ {
		next := i + 1
		if next == c.n {
			next = whole
		}
		if next != i {
			users[i].partner = users[next]
		} else if i > 0 {
			users[i].partner = users[0]
		}
	}
	covered := map[int]bool{}
	chosen := 0
	for pass := 0; pass < 2 && chosen < c.faults.poisonSenders; pass++ {
		for _, u := range users {
			k := kindOf(u.path)
			if chosen == c.faults.poisonSenders || u.partner == nil || u.poison || (k != "ws" && k != "bosh") {
				continue
			}
			if pass == 0 && covered[u.partner.path] {
				continue
			}
			u.poison = true
			covered[u.partner.path] = true
			chosen++
		}
	}
	return users
}

// life keeps u logged in until the run closes every session: it logs in,
// waits for the session to end, judges the end and logs in again.
func (sk *soakRun) life(ctx context.Context, u *soakUser) {
	defer sk.lives.Done()
	for {
		inc := sk.login(ctx, u)
		if inc == nil {
			return
		}
		select {
		case <-inc.done:
		case <-sk.stop:
			inc.byTool.Store(true)
			inc.wmu.Lock()
			inc.st.Close()
			inc.wmu.Unlock()
			<-inc.done
		case <-ctx.Done():
			inc.byTool.Store(true)
			inc.st.Close()
			<-inc.done
		}
		sk.ended(u, inc)
		if sk.stopping.Load() || ctx.Err() != nil {
			return
		}
		sleepCtx(ctx, sk.cfg.reconnect)
	}
}

// login logs u in, trying again with a growing pause while it fails, and
// starts the session's reader. It returns nil once the run is closing.
func (sk *soakRun) login(ctx context.Context, u *soakUser) *incarnation {
	backoff := sk.cfg.reconnect
	for !sk.stopping.Load() && ctx.Err() == nil {
		select {
		case sk.sem <- struct{}{}:
		case <-sk.stop:
			return nil
		case <-ctx.Done():
			return nil
		}
		inc, err := sk.dial(ctx, u)
		<-sk.sem
		u.mu.Lock()
		u.logins++
		if err != nil {
			u.failed++
			if u.firstE == "" {
				u.firstE = fmt.Sprintf("%s at %.1fs: %v", u.name, sk.now().Seconds(), err)
			}
			u.mu.Unlock()
			sleepCtx(ctx, backoff+rand.N(backoff/2+1))
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		if sk.stopping.Load() {
			u.mu.Unlock()
			inc.byTool.Store(true)
			inc.st.Close()
			return nil
		}
		u.cur = inc
		closeWindows(u.faults, inc.since)
		u.mu.Unlock()
		sk.mu.Lock()
		sk.up++
		sk.mu.Unlock()
		go sk.read(u, inc)
		return inc
	}
	return nil
}

// dial connects and logs in one session of u.
func (sk *soakRun) dial(ctx context.Context, u *soakUser) (*incarnation, error) {
	ctx, cancel := context.WithTimeout(ctx, ioTimeout)
	defer cancel()
	st, err := sk.paths[u.path].Dial(ctx, u.src)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	if _, err := login(ctx, st, sk.cfg.domain, u.name, sk.cfg.password); err != nil {
		st.Close()
		return nil, err
	}
	return &incarnation{st: st, sp: spellingOf(st), path: u.path, since: sk.now(), done: make(chan struct{})}, nil
}

// ended takes u's session inc off and judges its end.
func (sk *soakRun) ended(u *soakUser, inc *incarnation) {
	at := sk.now()
	u.mu.Lock()
	if u.cur == inc {
		u.cur = nil
	}
	u.mu.Unlock()
	sk.mu.Lock()
	sk.up--
	sk.mu.Unlock()
	if inc.byTool.Load() {
		return
	}
	// The bridge ended it: let go of the connections it kept alive.
	abortStream(inc.st)
	inc.mu.Lock()
	end := describeEnd(inc.endEl, inc.err)
	exp := inc.expect
	inc.mu.Unlock()
	e := sessionEnd{User: u.name, Path: sk.specs[u.path].name, At: at.Seconds(), Reason: end.String()}
	// Over HTTP the answer to a malformed input is the answer to its own
	// request, which the fault reads; the session's other requests may
	// tell of its end first, with other-request.
	answerHere := exp != nil && exp.kind.status == 0
	switch {
	case exp != nil && exp.kind.ends:
		if answerHere {
			exp.settle(end, true)
		}
		e.Excused = "malformed"
	default:
		if kind, ok := sk.serverFaultAt(at); ok {
			// The user is down until it has logged in again.
			e.Excused = kind
			u.mu.Lock()
			u.faults = append(u.faults, faultWindow{Kind: kind, From: at, To: -1, excuses: true})
			u.mu.Unlock()
		}
		if answerHere {
			exp.settle(end, true)
		}
	}
	u.mu.Lock()
	u.ends = append(u.ends, e)
	u.mu.Unlock()
	if e.Excused == "" {
		sk.logf("soak: %s (%s) ended at %.1fs with no fault on it or the server: %s", u.name, e.Path, e.At, e.Reason)
	}
}

// read is a session's one reader: it counts every probe by its sender.
func (sk *soakRun) read(u *soakUser, inc *incarnation) {
	defer close(inc.done)
	for {
		if d := inc.stall.Swap(0); d > 0 {
			time.Sleep(time.Duration(d))
		}
		el, err := inc.st.Recv()
		if err != nil {
			inc.mu.Lock()
			inc.err = err
			inc.mu.Unlock()
			return
		}
		if isEndElement(el) {
			inc.mu.Lock()
			// A stream error says more than the <close/> after it.
			if !bytes.HasPrefix(el, []byte("<close")) || !bytes.HasPrefix(inc.endEl, []byte("<stream:error")) {
				inc.endEl = append(inc.endEl[:0], el...)
			}
			exp := inc.expect
			inc.mu.Unlock()
			if exp != nil && !exp.kind.ends {
				exp.settle(describeEnd(el, nil), false)
			}
			continue
		}
		k, p, ok := inc.sp.inspect(el)
		if k != elemMessage || !ok || p.from == 0 {
			continue
		}
		sk.receive(u, p, sk.now())
	}
}

// receive counts one probe that u received.
func (sk *soakRun) receive(u *soakUser, p probe, at time.Duration) {
	from := int(p.from - 1)
	if from < 0 || from >= len(sk.users) || sk.users[from].partner != u || p.seq < 1 {
		sk.mu.Lock()
		sk.stray++
		sk.mu.Unlock()
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	pr := u.recv[from]
	if pr == nil {
		pr = &pairRecv{}
		u.recv[from] = pr
	}
	i := int(p.seq - 1)
	for len(pr.count) <= i {
		pr.count = append(pr.count, 0)
		pr.at = append(pr.at, 0)
	}
	switch {
	case pr.count[i] > 0:
		pr.anomalies = append(pr.anomalies, anomaly{seq: p.seq, at: at, duplicate: true})
	case p.seq < pr.max:
		pr.anomalies = append(pr.anomalies, anomaly{seq: p.seq, at: at})
		pr.at[i] = at
	default:
		pr.at[i] = at
		pr.max = p.seq
	}
	if pr.count[i] < 255 {
		pr.count[i]++
	}
}

// send sends u's messages to its partner from start until end, at
// rate/n, while u is logged in.
func (sk *soakRun) send(ctx context.Context, u *soakUser, start, end time.Time) {
	if u.partner == nil {
		return
	}
	interval := time.Duration(float64(time.Second) * float64(len(sk.users)) / sk.cfg.rate)
	next := start.Add(rand.N(interval))
	to := u.partner.name + "@" + sk.cfg.domain + "/load"
	buf := make([]byte, 0, 512)
	for ctx.Err() == nil {
		if !sleepUntil(ctx, next) || !next.Before(end) {
			return
		}
		next = next.Add(interval)
		u.mu.Lock()
		inc := u.cur
		u.mu.Unlock()
		if inc == nil {
			continue
		}
		seq := int64(len(u.sent) + 1)
		m := sentMsg{at: sk.now()}
		p := probe{seq: seq, sent: m.at, from: int64(u.id + 1)}
		var presence []byte
		if u.poison && seq%int64(sk.cfg.faults.poisonEvery) == 0 {
			m.poison = true
			buf, presence = appendPoison(buf[:0], to, p, int(seq/int64(sk.cfg.faults.poisonEvery)))
		} else {
			buf = inc.sp.appendMessage(buf[:0], to, p)
		}
		inc.wmu.Lock()
		err := inc.st.Send(buf)
		if err == nil && presence != nil {
			inc.st.Send(presence)
		}
		inc.wmu.Unlock()
		m.failed = err != nil
		u.sent = append(u.sent, m)
	}
}

// waitUp waits until every user is logged in, at most until deadline.
func (sk *soakRun) waitUp(ctx context.Context, deadline time.Time) {
	for ctx.Err() == nil && time.Now().Before(deadline) {
		sk.mu.Lock()
		up := sk.up
		sk.mu.Unlock()
		if up == len(sk.users) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// drain waits until every message sent has arrived, or is excused by a
// fault, or until the deadline.
func (sk *soakRun) drain(ctx context.Context, deadline time.Time) {
	for ctx.Err() == nil && time.Now().Before(deadline) {
		if sk.underway() == 0 {
			return
		}
		sleepCtx(ctx, time.Second)
	}
}

// underway is the messages sent that have not arrived and that no fault
// excuses.
func (sk *soakRun) underway() int64 {
	sk.mu.Lock()
	server := slices.Clone(sk.server)
	sk.mu.Unlock()
	var n int64
	for _, s := range sk.users {
		sk.walkPair(s, server, func(r *soakUser, excused func(t0, t1 time.Duration) (string, bool)) {
			pr := r.recv[s.id]
			for i, m := range s.sent {
				if m.failed || pr.arrived(i) {
					continue
				}
				if _, ok := excused(m.at, m.at+sk.cfg.deliverBound); !ok {
					n++
				}
			}
		})
	}
	return n
}

// progress writes a line every ten seconds until stopped.
func (sk *soakRun) progress(start time.Time) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(10 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sk.mu.Lock()
				up, inj := sk.up, fmt.Sprint(sk.injected)
				sk.mu.Unlock()
				sk.logf("soak: %4.0fs: %d of %d users logged in; faults %s", time.Since(start).Seconds(), up, len(sk.users), inj)
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

func (sk *soakRun) logf(format string, args ...any) {
	if sk.log != nil {
		fmt.Fprintf(sk.log, format+"\n", args...)
	}
}

// sleepCtx sleeps d or until ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	return sleepUntil(ctx, time.Now().Add(d))
}

// sleepUntil sleeps until t or until ctx is done, and reports whether it
// slept the whole time.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return true
	case <-ctx.Done():
		return false
	}
}
