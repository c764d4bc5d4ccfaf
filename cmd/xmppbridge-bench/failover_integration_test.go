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
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/testbed"
)

// TestFailover is the short form of scripts/bench-failover.sh: two
// daemons as one cluster in front of a private Prosody, HAProxy with the
// shipped example config in front of them, 30 users over the JSON API's
// WebSocket, events stream and long-poll and over XMPP's own WebSocket and
// BOSH (doing their own XEP-0198) sending to each other through HAProxy,
// and one daemon killed with SIGKILL. Every page whose connection failed
// must resume on the other daemon, none may have to log in again, and no
// message may be lost, duplicated or reordered.
func TestFailover(t *testing.T) {
	if _, err := exec.LookPath("haproxy"); err != nil {
		t.Fatal("haproxy is needed (scripts/testbed.sh lists what to install)")
	}
	p := testbed.Start(t)
	root, err := testbed.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	const n = 30
	if err := users([]string{"-testbed", p.Dir, "-n", strconv.Itoa(n)}); err != nil {
		t.Fatal(err)
	}
	addrs := []string{freeAddr(t), freeAddr(t)}
	var daemons []*bridgeProcess
	for i, node := range []string{"a1", "a2"} {
		daemons = append(daemons, startBridgeProcessAt(t, root, p, addrs[i], daemonExtra{
			top:    `trusted_proxies = ["127.0.0.1"]`,
			json:   `resume_key = "a key the two daemons share, 32 bytes or more"`,
			tables: fmt.Sprintf("[cluster]\nnode = %q\n[cluster.peers]\na1 = \"http://%s\"\na2 = \"http://%s\"", node, addrs[0], addrs[1]),
		}))
	}
	lb := startHAProxy(t, root, addrs)

	c := failoverConfig{
		wsURL:       "ws://" + lb + "/json/ws",
		httpURL:     "http://" + lb + "/json",
		xmlWSURL:    "ws://" + lb + "/xmpp-websocket",
		boshURL:     "http://" + lb + "/http-bind",
		transports:  []string{"ws", "sse", "poll", "xmlws", "bosh"},
		n:           n,
		userFlags:   userFlags{domain: p.Domain, prefix: "load", password: "secret", sources: 8, concurrency: 8},
		rate:        30,
		before:      4 * time.Second,
		after:       6 * time.Second,
		killPID:     daemons[0].cmd.Process.Pid,
		killNode:    "a1",
		jitter:      250 * time.Millisecond,
		resumeBound: 30 * time.Second,
		grace:       15 * time.Second,
	}
	if err := c.check(); err != nil {
		t.Fatal(err)
	}
	var progress *os.File
	if testing.Verbose() {
		progress = os.Stderr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := runFailover(ctx, c, progress)
	if err != nil {
		t.Fatalf("failover: %v", err)
	}
	var tables bytes.Buffer
	writeFailoverTables(&tables, r)
	t.Logf("failover results:\n%s", tables.String())
	for _, pr := range r.Problems {
		t.Error(pr)
	}
	// HAProxy deals the sessions out: which transports the daemon killed
	// held is chance, that it held some is not.
	if r.All.OnKilled == 0 {
		t.Error("no page of the daemon killed")
	}
	for _, tr := range r.Transports {
		if tr.Relogin > 0 {
			t.Errorf("%s: %d pages could not resume: %v", tr.Transport, tr.Relogin, r.Relogins)
		}
	}
	if t.Failed() {
		t.Logf("survivor's log, last lines:\n%s", daemons[1].logTail(40))
	}
}

// startHAProxy runs examples/haproxy/haproxy.cfg with the two bridges at
// addrs, bound to loopback, and returns its address.
func startHAProxy(t *testing.T, root string, addrs []string) string {
	t.Helper()
	dir := t.TempDir()
	lb := freeAddr(t)
	example, err := os.ReadFile(filepath.Join(root, "examples", "haproxy", "haproxy.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer("10.0.0.11:5280", addrs[0], "10.0.0.12:5280", addrs[1],
		"bind :80", "bind "+lb, "/run/haproxy-xmppbridge.sock", filepath.Join(dir, "haproxy.sock")).Replace(string(example))
	if !strings.Contains(cfg, "bind "+lb) || !strings.Contains(cfg, addrs[1]) {
		t.Fatal("examples/haproxy/haproxy.cfg no longer has the addresses the test replaces")
	}
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("haproxy", "-W", "-db", "-f", path)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", lb, time.Second)
		if err == nil {
			c.Close()
			return lb
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy does not listen on %s: %v", lb, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
