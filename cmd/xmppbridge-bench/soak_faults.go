package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The soak's faults. Each is applied to a few users at a time, on a
// schedule, during the message phase:
//
//   - drop: the browser's connections are closed without a word (no close
//     frame, no terminate) and it logs in afresh;
//   - slow: the browser stops reading for a while (over BOSH and long-poll:
//     sends no request), then goes on;
//   - malformed: the browser sends bad input of a kind its transport can
//     carry (soak_malformed.go), and the answer must be the protocol's
//     own;
//   - restart: Prosody is stopped and, after a while, started again on the
//     same ports;
//   - hang: Prosody is stopped with SIGSTOP and, after a while, continued;
//   - poison: a few users on XML paths send messages whose payload is in
//     the XML namespace (<xml:x/>, or an xml:foo attribute on a child),
//     and directed presence the same; those messages are counted as any
//     other.
//
// Every fault is logged with its time window. A drop, a malformed input
// that ends the session, and a session ended while the server was down or
// hung excuse what the user's messages lose from its start until the user
// has logged in again; a server fault excuses everyone's from its start
// until -recover after the server is back. A slow reader, and malformed
// input that must not end the session, excuse nothing.

// faultConfig is the schedule of faults.
type faultConfig struct {
	dropEvery, slowEvery, malformedEvery time.Duration
	dropN, slowN, malformedN             int
	slowFor                              time.Duration
	serverEvery                          time.Duration
	serverFaults                         string // comma-separated, taken in turn
	down, hang                           time.Duration
	recover                              time.Duration
	poisonSenders, poisonEvery           int
}

func (f *faultConfig) flags(fs *flag.FlagSet) {
	fs.DurationVar(&f.dropEvery, "drop-every", 20*time.Second, "interval between drops: browsers whose connections are closed without a word and who log in afresh (0: none)")
	fs.IntVar(&f.dropN, "drop-n", 3, "users dropped each time")
	fs.DurationVar(&f.slowEvery, "slow-every", 20*time.Second, "interval between slow-reader faults (0: none)")
	fs.IntVar(&f.slowN, "slow-n", 3, "users that stop reading each time")
	fs.DurationVar(&f.slowFor, "slow-for", 5*time.Second, "how long a slow reader stops reading")
	fs.DurationVar(&f.malformedEvery, "malformed-every", 30*time.Second, "interval between malformed inputs (0: none)")
	fs.IntVar(&f.malformedN, "malformed-n", 2, "users that send malformed input each time")
	fs.DurationVar(&f.serverEvery, "server-every", 5*time.Minute, "interval between faults of the server, the first after half of it (0: none)")
	fs.StringVar(&f.serverFaults, "server-faults", "restart,hang", "the server faults, taken in turn: restart (stop Prosody, wait -down, start it on the same ports), hang (SIGSTOP, wait -hang, SIGCONT)")
	fs.DurationVar(&f.down, "down", 3*time.Second, "how long the server stays stopped at a restart")
	fs.DurationVar(&f.hang, "hang", 10*time.Second, "how long the server stays hung (SIGSTOP); longer than the bridge's bound, 2 × [upstream] keepalive + keepalive_timeout (140 s by default), ends the sessions with remote-connection-failed, shorter must lose nothing")
	fs.DurationVar(&f.recover, "recover", 15*time.Second, "after a server fault, how long its excuse lasts once the server is back")
	fs.IntVar(&f.poisonSenders, "poison-senders", 5, "users on XML paths (ws, bosh) that send poison stanzas, chosen so that their receivers are on as many paths as they can be (0: none)")
	fs.IntVar(&f.poisonEvery, "poison-every", 5, "every this many messages of a poison sender is a poison one")
}

// check reports what is wrong with the schedule.
func (f *faultConfig) check(testbed string) error {
	var problems []error
	if f.dropEvery < 0 || f.slowEvery < 0 || f.malformedEvery < 0 || f.serverEvery < 0 || f.dropN < 0 || f.slowN < 0 || f.malformedN < 0 || f.slowFor <= 0 || f.down < 0 || f.hang < 0 || f.recover < 0 {
		problems = append(problems, errors.New("fault intervals, counts and durations must not be negative, -slow-for positive"))
	}
	if f.poisonSenders < 0 || f.poisonEvery < 1 {
		problems = append(problems, errors.New("-poison-senders must not be negative, -poison-every positive"))
	}
	for _, k := range f.serverKinds() {
		if k != "restart" && k != "hang" {
			problems = append(problems, fmt.Errorf("-server-faults: unknown fault %q (want restart or hang)", k))
		}
	}
	if f.serverEvery > 0 && len(f.serverKinds()) > 0 && testbed == "" {
		problems = append(problems, errors.New("-server-every needs -testbed, the directory of the Prosody to restart and hang"))
	}
	return errors.Join(problems...)
}

func (f *faultConfig) serverKinds() []string {
	var ks []string
	for _, k := range strings.Split(f.serverFaults, ",") {
		if k = strings.TrimSpace(k); k != "" {
			ks = append(ks, k)
		}
	}
	return ks
}

// faultWindow is one fault's time in force, since the run's base.
type faultWindow struct {
	Kind    string        `json:"kind"`
	From    time.Duration `json:"from_ns"`
	To      time.Duration `json:"to_ns"` // -1: still in force
	excuses bool          // losses within it are excused
}

// closeWindows ends the windows still in force at t (a user logged in
// again).
func closeWindows(ws []faultWindow, t time.Duration) {
	for i := range ws {
		if ws[i].To < 0 {
			ws[i].To = t
		}
	}
}

// excusedBy returns the kind of the first window that excuses and is in
// force at some time in [t0, t1].
func excusedBy(t0, t1 time.Duration, lists ...[]faultWindow) (string, bool) {
	for _, ws := range lists {
		for _, w := range ws {
			if w.excuses && w.From <= t1 && (w.To < 0 || w.To >= t0) {
				return w.Kind, true
			}
		}
	}
	return "", false
}

// serverFaultAt reports the server fault in force at t, if any.
func (sk *soakRun) serverFaultAt(t time.Duration) (string, bool) {
	sk.mu.Lock()
	defer sk.mu.Unlock()
	return excusedBy(t, t, sk.server)
}

// injectFaults runs the fault schedules from start until end, and returns
// a function that waits for the faults under way to be over.
func (sk *soakRun) injectFaults(ctx context.Context, start, end time.Time) (wait func()) {
	var wg sync.WaitGroup
	f := sk.cfg.faults
	every := func(d time.Duration, first time.Duration, fn func(k int)) {
		if d <= 0 {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			at := start.Add(first)
			for k := 0; at.Before(end) && sleepUntil(ctx, at); k++ {
				fn(k)
				at = at.Add(d)
			}
		}()
	}
	var faults sync.WaitGroup // each fault's own goroutine
	client := func(n int, kind string, fn func(u *soakUser, inc *incarnation, k int)) func(int) {
		return func(k int) {
			for i, u := range sk.pick(n) {
				sk.count(kind)
				faults.Add(1)
				go func() {
					defer faults.Done()
					u.mu.Lock()
					inc := u.cur
					u.mu.Unlock()
					if inc != nil {
						fn(u, inc, k*n+i)
					}
				}()
			}
		}
	}
	// Offsets spread the kinds over each interval.
	every(f.dropEvery, f.dropEvery/2, client(f.dropN, "drop", sk.drop))
	every(f.slowEvery, f.slowEvery/4, client(f.slowN, "slow", sk.slow))
	every(f.malformedEvery, f.malformedEvery*3/4, client(f.malformedN, "malformed", sk.malformedInput))
	if kinds := f.serverKinds(); len(kinds) > 0 {
		every(f.serverEvery, f.serverEvery/2, func(k int) {
			kind := kinds[k%len(kinds)]
			sk.count(kind)
			if err := sk.serverFault(ctx, kind); err != nil {
				sk.logf("soak: %s: %v", kind, err)
				sk.mu.Lock()
				sk.injected[kind+" failed"]++
				sk.mu.Unlock()
			}
		})
	}
	return func() { wg.Wait(); faults.Wait() }
}

func (sk *soakRun) count(kind string) {
	sk.mu.Lock()
	sk.injected[kind]++
	sk.mu.Unlock()
}

// pick chooses up to n users logged in now and under no fault.
func (sk *soakRun) pick(n int) []*soakUser {
	var free []*soakUser
	for _, u := range sk.users {
		u.mu.Lock()
		ok := u.cur != nil
		for _, w := range u.faults {
			ok = ok && w.To >= 0
		}
		u.mu.Unlock()
		if ok {
			free = append(free, u)
		}
	}
	rand.Shuffle(len(free), func(i, j int) { free[i], free[j] = free[j], free[i] })
	return free[:min(n, len(free))]
}

// addFault logs a fault on u from now on, in force until u logs in again.
func (sk *soakRun) addFault(u *soakUser, kind string, excuses bool) {
	u.mu.Lock()
	u.faults = append(u.faults, faultWindow{Kind: kind, From: sk.now(), To: -1, excuses: excuses})
	u.mu.Unlock()
}

// drop closes inc's connections without a word; the user's life logs
// in again.
func (sk *soakRun) drop(u *soakUser, inc *incarnation, _ int) {
	sk.addFault(u, "drop", true)
	inc.byTool.Store(true)
	abortStream(inc.st)
}

// slow has inc stop reading for -slow-for.
func (sk *soakRun) slow(u *soakUser, inc *incarnation, _ int) {
	d := sk.cfg.faults.slowFor
	u.mu.Lock()
	now := sk.now()
	u.faults = append(u.faults, faultWindow{Kind: "slow", From: now, To: now + d})
	u.mu.Unlock()
	if p, ok := inc.st.(interface{ pause(time.Duration) }); ok {
		p.pause(d)
		return
	}
	inc.stall.Store(int64(d))
}

// serverFault stops or hangs Prosody, and logs it as a window that lasts
// until -recover after the server is back.
func (sk *soakRun) serverFault(ctx context.Context, kind string) error {
	sk.mu.Lock()
	i := len(sk.server)
	sk.server = append(sk.server, faultWindow{Kind: kind, From: sk.now(), To: -1, excuses: true})
	sk.mu.Unlock()
	defer func() {
		sk.mu.Lock()
		sk.server[i].To = sk.now() + sk.cfg.faults.recover
		sk.mu.Unlock()
	}()
	sk.logf("soak: %.1fs: server %s", sk.now().Seconds(), kind)
	switch kind {
	case "restart":
		return restartTestbed(ctx, sk.cfg.testbedScript, sk.cfg.testbed, sk.cfg.faults.down)
	case "hang":
		return hangTestbed(ctx, sk.cfg.testbed, sk.cfg.faults.hang)
	}
	return fmt.Errorf("unknown server fault %q", kind)
}

// testbedEnv reads the KEY=VALUE lines testbed.sh keeps in DIR/testbed.env.
func testbedEnv(dir string) (map[string]string, error) {
	f, err := os.Open(filepath.Join(dir, "testbed.env"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	kv := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			kv[k] = v
		}
	}
	return kv, sc.Err()
}

// testbedPID is the pid of the Prosody running in dir.
func testbedPID(dir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "testbed.pid"))
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// restartTestbed stops the Prosody in dir, waits down, and starts it again
// on the same ports, so the bridge finds it where it was. The new Prosody
// is stopped when this process ends, should nothing else stop it.
func restartTestbed(ctx context.Context, script, dir string, down time.Duration) error {
	env, err := testbedEnv(dir)
	if err != nil {
		return err
	}
	c2s := portOf(env["C2S_ADDR"])
	http := portOf(strings.TrimSuffix(strings.TrimPrefix(env["WS_URL"], "ws://"), "/xmpp-websocket"))
	if c2s == "" || http == "" {
		return fmt.Errorf("%s/testbed.env: no C2S_ADDR or WS_URL port", dir)
	}
	if out, err := exec.CommandContext(ctx, "bash", script, "stop", dir).CombinedOutput(); err != nil {
		return fmt.Errorf("%s stop: %w: %s", script, err, out)
	}
	sleepCtx(ctx, down)
	// Not ctx: a Prosody left stopped would fail everything after.
	start, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(start, "bash", script, "start", dir)
	cmd.Env = append(os.Environ(), "C2S_PORT="+c2s, "HTTP_PORT="+http, "TESTBED_OWNER_PID="+strconv.Itoa(os.Getpid()), "TESTBED_NO_INSTALL=1")
	cmd.WaitDelay = 5 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s start: %w: %s", script, err, out)
	}
	return nil
}

func portOf(hostport string) string {
	i := strings.LastIndexByte(hostport, ':')
	if i < 0 {
		return ""
	}
	return hostport[i+1:]
}

// hangTestbed stops the Prosody in dir with SIGSTOP for d, then continues
// it, also when ctx ends first.
func hangTestbed(ctx context.Context, dir string, d time.Duration) error {
	pid, err := testbedPID(dir)
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		return fmt.Errorf("SIGSTOP %d: %w", pid, err)
	}
	sleepCtx(ctx, d)
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		return fmt.Errorf("SIGCONT %d: %w", pid, err)
	}
	return nil
}

// appendPoison appends a poison stanza carrying p to full JID to, the k-th
// of its sender: a message with a child in the XML namespace, or with an
// xml:foo attribute on a child; every other time also directed presence
// with the same payload (returned apart: it is not counted).
func appendPoison(b []byte, to string, p probe, k int) (msg, presence []byte) {
	payload := `<xml:x/>`
	if k%2 == 1 {
		payload = `<x xmlns="urn:xmppbridge:soak" xml:foo="1"/>`
	}
	b = appendMessage(b, to, p)
	b = append(b[:len(b)-len("</message>")], payload...)
	b = append(b, "</message>"...)
	if k%4 >= 2 {
		presence = []byte(`<presence xmlns="jabber:client" to="` + to + `">` + payload + `</presence>`)
	}
	return b, presence
}
