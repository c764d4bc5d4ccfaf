// Package netbed starts the multi-box testbed of scripts/netns-testbed.sh
// for integration tests: bridge boxes in Linux network namespaces, two
// Prosody servers (a.test, b.test) and an ejabberd (c.test), federated, each
// with a bridge, a cluster of two bridges of
// a.test (a1, a2), and HAProxy and nginx each doing round-robin in front
// of them; with Options.EjabberdCluster, a second ejabberd node joined to
// the first in a cluster, with a bridge of its own (c2).
//
// It needs root and "ip netns": without them Start skips the test, saying
// why. Everything else missing (prosody, ejabberd, haproxy, nginx, openssl,
// curl) fails it;
// scripts/test.sh installs them.
//
// Concurrency: Start fails the test through t and follows the rules of
// testing.TB; a Testbed's methods may be called from any goroutine. Each
// Testbed has its own subnet and namespaces, so tests may run several.
package netbed

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Testbed is one started multi-box testbed.
type Testbed struct {
	Dir         string // the script's directory: configs, logs, pid files
	BalancerURL string // HAProxy, round-robin over a1 and a2
	NginxURL    string // nginx, the same
	A1URL       string // the bridges, each http://IP:5280
	A2URL       string
	B1URL       string
	C1URL       string // in front of ejabberd (c.test)
	C2URL       string // in front of the second ejabberd node, with Options.EjabberdCluster
	CAFile      string // the testbed CA, which signed a.test and b.test

	script string
}

// Options are what a test asks of a testbed beyond the usual one.
type Options struct {
	// EjabberdCluster adds box c2: a second ejabberd node serving c.test,
	// joined to box c's with join_cluster, and the bridge c2 in front of
	// it (C2URL).
	EjabberdCluster bool
}

// Start starts a testbed, stopped when the test ends, or skips the test
// when the machine cannot run one.
func Start(t testing.TB) *Testbed {
	t.Helper()
	return StartWith(t, Options{})
}

// StartWith starts a testbed with opts, as Start does.
func StartWith(t testing.TB, opts Options) *Testbed {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("netbed: the multi-box testbed needs root (network namespaces); skipped")
	}
	if out, err := exec.Command("ip", "netns", "list").CombinedOutput(); err != nil {
		t.Skipf("netbed: \"ip netns\" is not available (%v: %s); skipped", err, bytes.TrimSpace(out))
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "xmppbridge")
	build := exec.Command(goTool(), "build", "-o", bin, "./cmd/xmppbridge")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("netbed: go build: %v\n%s", err, out)
	}
	tb := &Testbed{Dir: filepath.Join(dir, "bed"), script: filepath.Join(root, "scripts", "netns-testbed.sh")}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	env := []string{"XMPPBRIDGE=" + bin, "NETBED_OWNER_PID=" + strconv.Itoa(os.Getpid())}
	if opts.EjabberdCluster {
		env = append(env, "NETBED_EJABBERD_CLUSTER=1")
	}
	out, err := tb.run(ctx, env, "start", tb.Dir)
	t.Cleanup(tb.Stop)
	// A testbed started after another has the same addresses: a kept-alive
	// connection of the test process to the last one's bridges would be
	// reused for a POST, and reset.
	http.DefaultClient.CloseIdleConnections()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, node := range []string{"a1", "a2", "b1", "c1", "c2"} {
			if l := tb.Log(node); l != "" {
				lines := strings.Split(strings.TrimSpace(l), "\n")
				t.Logf("netbed: the last lines of bridge %s's log:\n%s", node, strings.Join(lines[max(0, len(lines)-30):], "\n"))
			}
		}
	})
	if err != nil {
		t.Fatalf("netbed: %v", err)
	}
	kv := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			kv[k] = v
		}
	}
	tb.NginxURL, tb.C1URL, tb.C2URL = kv["NGINX_URL"], kv["C1_URL"], kv["C2_URL"]
	tb.BalancerURL, tb.A1URL, tb.A2URL, tb.B1URL, tb.CAFile = kv["BALANCER_URL"], kv["A1_URL"], kv["A2_URL"], kv["B1_URL"], kv["CA_FILE"]
	if tb.BalancerURL == "" || tb.NginxURL == "" || tb.C1URL == "" || tb.A1URL == "" || tb.A2URL == "" || tb.B1URL == "" || tb.CAFile == "" {
		t.Fatalf("netbed: the script printed no complete set of addresses:\n%s", out)
	}
	if opts.EjabberdCluster && tb.C2URL == "" {
		t.Fatalf("netbed: no C2_URL from the script:\n%s", out)
	}
	return tb
}

// Kill sends SIGKILL to the bridge node (a1, a2, b1 or c1).
func (tb *Testbed) Kill(node string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := tb.run(ctx, nil, "kill", tb.Dir, node)
	return err
}

// Term sends SIGTERM to the bridge node, which drains and exits by itself
// (see Running).
func (tb *Testbed) Term(node string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := tb.run(ctx, nil, "term", tb.Dir, node)
	return err
}

// Running reports whether the process of the bridge node is still there.
func (tb *Testbed) Running(node string) bool {
	b, err := os.ReadFile(filepath.Join(tb.Dir, node+".pid"))
	if err != nil {
		return false
	}
	stat, err := os.ReadFile(filepath.Join("/proc", strings.TrimSpace(string(b)), "stat"))
	if err != nil {
		return false
	}
	// "pid (comm) S ...": a zombie is gone too.
	_, rest, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(rest, "Z")
}

// HAProxy sends one command to the balancer's runtime API (its stats
// socket) and returns the answer, as "disable server xmppbridge/a2".
func (tb *Testbed) HAProxy(command string) (string, error) {
	c, err := net.DialTimeout("unix", filepath.Join(tb.Dir, "haproxy.sock"), 5*time.Second)
	if err != nil {
		return "", fmt.Errorf("netbed: HAProxy's socket: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, command+"\n"); err != nil {
		return "", fmt.Errorf("netbed: HAProxy %q: %w", command, err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		return "", fmt.Errorf("netbed: HAProxy %q: %w", command, err)
	}
	return string(b), nil
}

// Down makes the box die (a, a2, b, c or c2): everything in it, its XMPP
// server and its bridge, is killed with SIGKILL, and its link cut.
func (tb *Testbed) Down(box string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := tb.run(ctx, nil, "down", tb.Dir, box)
	return err
}

// Ejabberd calls command of mod_http_api on the ejabberd node of box (c
// or c2) with the JSON args, and returns the answer's body.
func (tb *Testbed) Ejabberd(box, command, args string) (string, error) {
	sock := filepath.Join(tb.Dir, box, "api.sock")
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
	defer hc.CloseIdleConnections()
	res, err := hc.Post("http://localhost/api/"+command, "application/json", strings.NewReader(args))
	if err != nil {
		return "", fmt.Errorf("netbed: ejabberd of box %s: %s: %w", box, command, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err == nil && res.StatusCode != http.StatusOK {
		err = fmt.Errorf("netbed: ejabberd of box %s: %s %s: %d %s", box, command, args, res.StatusCode, b)
	}
	return string(b), err
}

// Cut cuts the link of the box of the bridge node (a1, a2, b1 or c1): its
// packets go nowhere, and nothing is refused.
func (tb *Testbed) Cut(node string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := tb.run(ctx, nil, "cut", tb.Dir, node)
	return err
}

// Log is the log of the bridge node, for a failing test to show.
func (tb *Testbed) Log(node string) string {
	b, _ := os.ReadFile(filepath.Join(tb.Dir, node+".log"))
	return string(b)
}

// Stop stops everything and removes the namespaces.
func (tb *Testbed) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tb.run(ctx, nil, "stop", tb.Dir)
}

func (tb *Testbed) run(ctx context.Context, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "bash", append([]string{tb.script}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w\n%s", filepath.Base(tb.script), strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// repoRoot is the directory of go.mod, found upwards from here.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("netbed: no go.mod above the working directory")
		}
		dir = parent
	}
}

// goTool is the go command of the toolchain running the tests.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}
