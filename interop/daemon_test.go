//go:build integration

package interop

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/testbed"
)

// daemonExitTimeout bounds a drain of the daemon, from SIGTERM to its exit
// (its shutdown_timeout is shorter).
const daemonExitTimeout = 30 * time.Second

// The daemon's binary is built once for the package's tests, under -race
// when they run under it, into daemonDir, which TestMain removes.
var (
	daemonOnce sync.Once
	daemonDir  string
	daemonBin  string
	daemonErr  error
)

// buildDaemon builds ./cmd/xmppbridge, once, and returns its path.
func buildDaemon(t *testing.T) string {
	t.Helper()
	daemonOnce.Do(func() {
		root, err := testbed.RepoRoot()
		if err != nil {
			daemonErr = err
			return
		}
		if daemonDir, daemonErr = os.MkdirTemp("", "xmppbridge-interop-"); daemonErr != nil {
			return
		}
		daemonBin = filepath.Join(daemonDir, "xmppbridge")
		args := []string{"build", "-o", daemonBin}
		if raceBuild {
			args = append(args, "-race")
		}
		cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), append(args, "./cmd/xmppbridge")...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			daemonErr = fmt.Errorf("go build ./cmd/xmppbridge: %v\n%s", err, out)
		}
	})
	if daemonErr != nil {
		t.Fatal(daemonErr)
	}
	return daemonBin
}

// removeDaemon removes the built binary; TestMain calls it.
func removeDaemon() {
	if daemonDir != "" {
		os.RemoveAll(daemonDir)
	}
}

// bridgeDaemon is the real xmppbridge process in front of a testbed
// server, on an address that stays the same across restarts, so that a
// browser's reconnects reach the new process.
//
// Concurrency: one test goroutine uses it.
type bridgeDaemon struct {
	t       *testing.T
	addr    string // 127.0.0.1:port
	cfgPath string
	logPath string // both processes' output, one after the other
	cmd     *exec.Cmd
	exited  chan error
}

// startBridgeDaemon runs the daemon in front of p, letting in pages of
// origin, with extra TOML appended to its configuration, and stops it when
// the test ends.
func startBridgeDaemon(t *testing.T, p *testbed.Server, origin string, extra ...string) *bridgeDaemon {
	t.Helper()
	bin := buildDaemon(t)
	dir := t.TempDir()
	d := &bridgeDaemon{t: t, addr: freeAddr(t), cfgPath: filepath.Join(dir, "xmppbridge.toml"), logPath: filepath.Join(dir, "xmppbridge.log")}
	cfg := fmt.Sprintf(`
log_level = "debug"
allow_any_domain = false
allowed_origins = [%q]
shutdown_timeout = "5s"

# Two daemons run at once in a drain: neither takes the default metrics
# address.
[metrics]
listen = "off"

[domain.%q]
address = %q
security = "starttls"
ca_file = %q
`, origin, p.Domain, p.C2SAddr, p.CAFile) + strings.Join(extra, "\n")
	if err := os.WriteFile(d.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d.start(bin)
	t.Cleanup(func() {
		if d.cmd != nil {
			d.cmd.Process.Kill()
			<-d.exited
		}
	})
	return d
}

// WSURL is the daemon's WebSocket endpoint.
func (d *bridgeDaemon) WSURL() string { return "ws://" + d.addr + "/xmpp-websocket" }

// start runs the daemon and waits until it answers /healthz.
func (d *bridgeDaemon) start(bin string) {
	d.t.Helper()
	logFile, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		d.t.Fatal(err)
	}
	defer logFile.Close() // the process has its own copy
	fmt.Fprintf(logFile, "--- started %s\n", time.Now().UTC().Format(time.RFC3339Nano))
	d.cmd = exec.Command(bin, "-config", d.cfgPath, "-listen", d.addr)
	d.cmd.Stdout, d.cmd.Stderr = logFile, logFile
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	d.exited = make(chan error, 1)
	go func(cmd *exec.Cmd, exited chan<- error) { exited <- cmd.Wait() }(d.cmd, d.exited)
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get("http://" + d.addr + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-d.exited:
			d.cmd = nil
			d.t.Fatalf("the daemon exited: %v\n%s", err, d.Log())
		default:
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("the daemon does not answer on %s: %v\n%s", d.addr, err, d.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Restart starts the daemon again on the same address, after Kill or Term.
func (d *bridgeDaemon) Restart() {
	d.t.Helper()
	d.start(buildDaemon(d.t))
}

// Kill ends the process with SIGKILL, as a crash or the OOM killer would:
// the kernel closes its connections, to browsers and servers alike,
// without a word from it.
func (d *bridgeDaemon) Kill() {
	d.t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		d.t.Fatal(err)
	}
	<-d.exited
	d.cmd = nil
}

// Term sends SIGTERM, which drains the daemon, and waits for it to exit;
// it fails the test unless the exit is clean.
func (d *bridgeDaemon) Term() {
	d.t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		d.t.Fatal(err)
	}
	select {
	case err := <-d.exited:
		d.cmd = nil
		if err != nil {
			d.t.Fatalf("the daemon's drain: %v\n%s", err, d.Log())
		}
	case <-time.After(daemonExitTimeout):
		d.t.Fatalf("the daemon did not exit %v after SIGTERM\n%s", daemonExitTimeout, d.Log())
	}
}

// Log is what the daemon has logged, over all its runs.
func (d *bridgeDaemon) Log() string {
	b, err := os.ReadFile(d.logPath)
	if err != nil {
		return fmt.Sprintf("(the daemon's log: %v)", err)
	}
	return string(b)
}

// freeAddr is a loopback address whose port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
