package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReload: SIGHUP reads the file again. The allowed origins and the log
// level change at once, a changed setting that needs a restart is named,
// and a file with problems changes nothing.
func TestReload(t *testing.T) {
	logs := captureLog(t)
	path := filepath.Join(t.TempDir(), "xmppbridge.toml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("allowed_origins = [\"https://a.example\"]\n")
	addr, _ := startDaemonFile(t, path, "-metrics", "off")
	// The Origin rule answers before anything else: 403 when refused.
	status := func(origin string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", "http://"+addr+"/json/poll", strings.NewReader("{}"))
		req.Header.Set("Origin", origin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	hup := func(want string) {
		t.Helper()
		before := strings.Count(logs.String(), want)
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); strings.Count(logs.String(), want) == before; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the log after SIGHUP:\n%s", want, logs)
			}
		}
	}
	if status("https://a.example") == http.StatusForbidden || status("https://b.example") != http.StatusForbidden {
		t.Fatal("the first file's origins are not in force")
	}

	write("allowed_origins = [\"https://b.example\"]\nlog_level = \"debug\"\n[bosh]\nmax_wait = \"30s\"\n")
	hup("SIGHUP: configuration reloaded")
	if status("https://b.example") == http.StatusForbidden || status("https://a.example") != http.StatusForbidden {
		t.Fatal("the reloaded origins are not in force")
	}
	if !strings.Contains(logs.String(), "take effect at the next restart\" settings=[bosh]") {
		t.Errorf("the changed [bosh] table is not named as needing a restart:\n%s", logs)
	}
	// Debug now: the refusal is logged at debug level.
	if !strings.Contains(logs.String(), "level=DEBUG msg=\"json request refused\"") {
		t.Errorf("log_level debug is not in force:\n%s", logs)
	}

	write("allowed_origins = 7\n")
	hup("SIGHUP: configuration not reloaded")
	if status("https://b.example") == http.StatusForbidden {
		t.Fatal("a file with problems changed the origins")
	}
}
