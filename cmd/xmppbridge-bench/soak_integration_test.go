//go:build integration

package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/testbed"
)

// TestSoak is the short form of the soak (scripts/bench-soak.sh runs the
// long one): the daemon, built and run as its own process in front of a
// private Prosody, with 100 users over its five transports for 80 s, every
// fault at least once (drops, slow readers, malformed input, Prosody
// restarted at 20 s and hung at 60 s, poison stanzas). Nothing that should
// have been kept may be lost, duplicated or reordered, no session may end
// that no fault ended, and the daemon's goroutines and descriptors must come
// back to where they were before the first session.
func TestSoak(t *testing.T) {
	p := testbed.Start(t)
	root, err := testbed.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	if err := users([]string{"-testbed", p.Dir, "-n", strconv.Itoa(n)}); err != nil {
		t.Fatal(err)
	}
	d := startBridgeProcess(t, root, p)

	c := soakConfig{
		pathURLs: pathURLs{
			bridgeWS:   "ws://" + d.addr + "/xmpp-websocket",
			bridgeBOSH: "http://" + d.addr + "/http-bind",
			bridgeJSON: "ws://" + d.addr + "/json/ws",
			bridgeSSE:  "http://" + d.addr + "/json",
			bridgePoll: "http://" + d.addr + "/json",
		},
		bridgePID:     d.cmd.Process.Pid,
		pprof:         d.pprof,
		testbed:       p.Dir,
		testbedScript: filepath.Join(root, "scripts", "testbed.sh"),
		n:             n,
		rate:          50,
		duration:      80 * time.Second,
		grace:         15 * time.Second,
		// Dropped sessions end at the bridge at the inactivity timeout
		// of the config below.
		settle:    45 * time.Second,
		sample:    5 * time.Second,
		userFlags: userFlags{domain: p.Domain, prefix: "load", password: "secret", sources: 8, concurrency: 16},
		reconnect: 500 * time.Millisecond,
		faults: faultConfig{
			dropEvery: 10 * time.Second, dropN: 2,
			slowEvery: 10 * time.Second, slowN: 2, slowFor: 3 * time.Second,
			malformedEvery: 6 * time.Second, malformedN: 2,
			serverEvery: 40 * time.Second, serverFaults: "restart,hang",
			down: 2 * time.Second, hang: 6 * time.Second, recover: 10 * time.Second,
			poisonSenders: 5, poisonEvery: 5,
		},
		excuseBefore: 5 * time.Second,
		deliverBound: 30 * time.Second,
		maxStanza:    262144,
		slack:        leakSlack{goroutines: 5, fds: 2, rssMiB: 64},
	}
	if err := c.check(); err != nil {
		t.Fatal(err)
	}
	var progress *os.File
	if testing.Verbose() {
		progress = os.Stderr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	r, err := runSoak(ctx, c, progress)
	if err != nil {
		t.Fatalf("soak: %v", err)
	}
	var tables bytes.Buffer
	writeSoakTables(&tables, r)
	t.Logf("soak results:\n%s", tables.String())

	for _, kind := range []string{"drop", "slow", "malformed", "restart", "hang"} {
		if r.Injected[kind] == 0 {
			t.Errorf("no %s fault was injected", kind)
		}
		if r.Injected[kind+" failed"] > 0 {
			t.Errorf("%d %s faults could not be injected", r.Injected[kind+" failed"], kind)
		}
	}
	poison := int64(0)
	for _, pr := range r.Paths {
		poison += pr.Poison
	}
	if poison == 0 {
		t.Error("no poison stanza was sent")
	}
	// Each problem apart, so that a failure says which sessions ended and
	// why (the table above lists them one by one).
	for _, pr := range r.Problems {
		t.Error(pr)
	}
	if len(r.WrongEnds) > 0 {
		var list []string
		for _, e := range r.WrongEnds {
			list = append(list, fmt.Sprintf("%s (%s) at %.1f s: %s", e.User, e.Path, e.At, e.Reason))
		}
		t.Errorf("sessions wrongly ended:\n%s", strings.Join(list, "\n"))
	}
	if r.Leftover != "" {
		t.Logf("the daemon's goroutines at the end:\n%s", r.Leftover)
	}
	if t.Failed() {
		t.Logf("daemon log, last lines:\n%s", d.logTail(40))
	}
}

// bridgeProcess is the daemon built from this tree and run as its own
// process, so that its goroutines, descriptors and memory are its own.
type bridgeProcess struct {
	cmd   *exec.Cmd
	addr  string // HTTP listener
	pprof string
	log   string // its stderr and stdout
}

func (d *bridgeProcess) logTail(n int) string {
	b, err := os.ReadFile(d.log)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// startBridgeProcess builds ./cmd/xmppbridge and runs it in front of p
// (plaintext over loopback) with short inactivity timeouts, pprof on, and
// stops it when the test ends.
func startBridgeProcess(t *testing.T, root string, p *testbed.Prosody) *bridgeProcess {
	t.Helper()
	return startBridgeProcessAt(t, root, p, freeAddr(t), daemonExtra{})
}

// daemonExtra is configuration added to startBridgeProcessAt's: keys at
// the top level and in [json], and tables after the others.
type daemonExtra struct {
	top, json, tables string
}

// startBridgeProcessAt is startBridgeProcess listening on addr, with extra
// added to its configuration.
func startBridgeProcessAt(t *testing.T, root string, p *testbed.Prosody, addr string, extra daemonExtra) *bridgeProcess {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "xmppbridge")
	build := exec.Command("go", "build", "-o", bin, "./cmd/xmppbridge")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/xmppbridge: %v\n%s", err, out)
	}
	cfg := fmt.Sprintf(`
log_level = "warn"
allow_any_domain = false
%s
[limits]
max_sessions = 1000
[bosh]
inactivity = "15s"
polling = "2s"
[json]
path = "/json"
inactivity = "15s"
%s
[domain.%q]
address = %q
security = "plaintext"
%s
`, extra.top, extra.json, p.Domain, p.C2SAddr, extra.tables)
	cfgPath := filepath.Join(dir, "xmppbridge.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d := &bridgeProcess{addr: addr, pprof: freeAddr(t), log: filepath.Join(dir, "xmppbridge.log")}
	logFile, err := os.Create(d.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() // the daemon has its own copy
	// No metrics listener: its fixed default port would clash with
	// another daemon's.
	d.cmd = exec.Command(bin, "-config", cfgPath, "-listen", d.addr, "-pprof", d.pprof, "-metrics", "off")
	d.cmd.Stdout, d.cmd.Stderr = logFile, logFile
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- d.cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			d.cmd.Process.Kill()
			<-done
		}
	})
	for _, a := range []string{d.addr, d.pprof} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the daemon does not listen on %s: %v\n%s", a, err, d.logTail(40))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return d
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
