//go:build integration

package main

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDebianPackage builds the Debian package (scripts/build-deb.sh),
// installs it with dpkg into a directory of its own, checks the unit with
// systemd-analyze (syntax and hardening), and starts the installed binary
// the way the unit does, on its installed configuration: it answers
// /healthz and drains at SIGTERM. (Tests run without systemd as init, so
// the unit's sandbox itself is not started here.)
func TestDebianPackage(t *testing.T) {
	for _, tool := range []string{"dpkg-deb", "dpkg", "systemd-analyze"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (scripts/test.sh installs it)", tool)
		}
	}
	dir := t.TempDir()
	out, err := exec.Command("../../scripts/build-deb.sh", filepath.Join(dir, "dist")).CombinedOutput()
	if err != nil {
		t.Fatalf("build-deb.sh: %v\n%s", err, out)
	}
	deb := strings.TrimSpace(string(out[strings.LastIndexByte(strings.TrimSpace(string(out)), '\n')+1:]))
	fields, err := exec.Command("dpkg-deb", "--field", deb, "Package", "Version", "Architecture").Output()
	if err != nil {
		t.Fatalf("dpkg-deb --field: %v", err)
	}
	if !regexp.MustCompile(`(?m)^Package: xmppbridge$`).Match(fields) || !regexp.MustCompile(`(?m)^Version: \S+~git\d{8}\.[0-9a-f]{12}`).Match(fields) {
		t.Fatalf("control fields:\n%s", fields)
	}
	conffiles, err := exec.Command("dpkg-deb", "--ctrl-tarfile", deb).Output()
	if err != nil || !strings.Contains(string(conffiles), "conffiles") {
		t.Fatalf("no conffiles in the package: %v", err)
	}

	// Installed by dpkg, into a root of its own.
	root := filepath.Join(dir, "root")
	admin := filepath.Join(root, "var/lib/dpkg")
	for _, d := range []string{"updates", "info"} {
		if err := os.MkdirAll(filepath.Join(admin, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(admin, "status"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	install := exec.Command("dpkg", "--instdir="+root, "--admindir="+admin, "--force-script-chrootless", "--force-not-root", "--log=/dev/null", "-i", deb)
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("dpkg -i: %v\n%s", err, out)
	}
	bin := filepath.Join(root, "usr/bin/xmppbridge")
	conf := filepath.Join(root, "etc/xmppbridge/xmppbridge.toml")
	unit := filepath.Join(root, "lib/systemd/system/xmppbridge.service")
	for _, f := range []string{bin, conf, unit} {
		if _, err := os.Stat(f); err != nil {
			t.Fatalf("not installed: %v", err)
		}
	}

	// The unit, its commands pointed at the installed files: systemd's
	// own checks, and an exposure level of at most 2.0 (of 10).
	b, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("/usr/bin/xmppbridge", bin, "/etc/xmppbridge/xmppbridge.toml", conf).Replace(string(b))
	local := filepath.Join(dir, "xmppbridge.service")
	if err := os.WriteFile(local, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("systemd-analyze", "verify", "--man=no", local).CombinedOutput(); err != nil {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	if out, err := exec.Command("systemd-analyze", "security", "--offline=yes", "--threshold=20", local).CombinedOutput(); err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}

	// Started as the unit starts it: ExecStartPre, then ExecStart, on the
	// installed configuration (its listeners moved to free ports).
	pre, start := execLine(t, text, "ExecStartPre"), execLine(t, text, "ExecStart")
	if out, err := exec.Command(pre[0], pre[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(pre, " "), err, out)
	}
	addr := freeAddr(t)
	b, err = os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	listens := []string{addr, freeAddr(t)} // the listener's, then [metrics]
	moved := regexp.MustCompile(`(?m)^listen = .*$`).ReplaceAllFunc(b, func([]byte) []byte {
		if len(listens) == 0 {
			t.Fatal("the installed configuration has more listen keys than the test knows")
		}
		l := `listen = "` + listens[0] + `"`
		listens = listens[1:]
		return []byte(l)
	})
	if err := os.WriteFile(conf, moved, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(start[0], start[1:]...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the installed daemon did not answer /healthz: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("after SIGTERM: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the installed daemon did not exit after SIGTERM")
	}
}

// execLine is the command line of the unit's key (ExecStart=…).
func execLine(t *testing.T, unit, key string) []string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(unit))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+"="); ok {
			return strings.Fields(v)
		}
	}
	t.Fatalf("the unit has no %s", key)
	return nil
}
