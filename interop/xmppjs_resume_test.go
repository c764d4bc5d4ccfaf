//go:build integration

package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/testbed"
	"github.com/xmppbridge/xmppbridge/internal/testpeer"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// xmppjsCutLength is the cut for xmpp.js, which tries to reconnect every
// second: a few of its attempts fail.
const xmppjsCutLength = 3 * time.Second

// TestXmppjsResume has xmpp.js (@xmpp/client in Node, stream management
// and reconnect on) lose its WebSocket to a network cut while bob sends
// alice a message, straight to the server's endpoint (which shows the
// test fair) and through the bridge: it must resume its stream, with the
// same full JID, and get the message exactly once (resume.mjs).
func TestXmppjsResume(t *testing.T) {
	eachServer(t, func(t *testing.T, p *testbed.Server) {
		t.Run("server-cut", func(t *testing.T) {
			proxy := startCutProxy(t, hostPort(t, p.WSURL))
			xmppjsResume(t, p, proxy.URL(p.WSURL), proxy)
		})
		t.Run("bridge-cut", func(t *testing.T) {
			url := startBridge(t, p, xmppclient.StartTLS)
			proxy := startCutProxy(t, hostPort(t, url))
			xmppjsResume(t, p, proxy.URL(url), proxy)
		})
	})
}

// resumeSummary is the last line resume.mjs prints.
type resumeSummary struct {
	OK          bool           `json:"ok"`
	JID         string         `json:"jid"`
	JIDAfter    string         `json:"jidAfter"`
	Resumed     int            `json:"resumed"`
	Failed      int            `json:"failed"`
	Disconnects int            `json:"disconnects"` // the drop and each failed attempt to reconnect
	Messages    map[string]int `json:"messages"`
	Error       string         `json:"error"`
}

// xmppjsResume runs resume.mjs as alice through url, cuts proxy once it is
// ready, has bob send a message during the cut and another once it has
// resumed, and checks its summary.
func xmppjsResume(t *testing.T, p *testbed.Server, url string, proxy *cutProxy) {
	t.Helper()
	dir, err := Dir()
	if err != nil {
		t.Fatal(err)
	}
	marker := randomID()
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(dir, "resume.mjs"),
		"--url", url, "--domain", p.Domain, "--marker", marker, "--verbose")
	cmd.Dir = dir
	cmd.WaitDelay = 5 * time.Second
	var trace syncBuffer
	cmd.Stderr = &trace
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var out []string
	fail := func(format string, args ...any) {
		t.Helper()
		cancel()
		for l := range lines {
			out = append(out, l)
		}
		_ = cmd.Wait()
		args = append(args, strings.Join(out, "\n"), trace.String())
		t.Fatalf(format+"\n--- resume.mjs said:\n%s\n--- its trace:\n%s", args...)
	}
	// await reads lines until one starts with one of prefixes.
	await := func(what string, prefixes ...string) string {
		t.Helper()
		timeout := time.After(resumeTimeout)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					fail("resume.mjs ended before %s", what)
				}
				out = append(out, l)
				for _, pre := range prefixes {
					if strings.HasPrefix(l, pre) {
						return l
					}
				}
			case <-timeout:
				fail("no %s within %v", what, resumeTimeout)
			}
		}
	}

	await("ready", "ready ", "{")
	if !strings.HasPrefix(out[len(out)-1], "ready ") {
		fail("resume.mjs did not get ready")
	}
	bob := testpeer.Login(t, p, "bob", "resume-"+marker)
	send := func(body string) {
		t.Helper()
		bob.Send("<message to='alice@" + p.Domain + "' type='chat' id='resume-" + randomID() + "'><body>" + body + "</body></message>")
		bob.Sync()
	}
	first := marker + " sent while you were away"
	start := time.Now()
	proxy.Cut(xmppjsCutLength)
	send(first)
	if l := await("the resumption", "resumed ", "failed ", "{"); !strings.HasPrefix(l, "resumed ") {
		fail("not resumed: %s", l)
	}
	resumedIn := time.Since(start)
	send(marker + " end")
	var s resumeSummary
	if err := json.Unmarshal([]byte(await("the summary", "{")), &s); err != nil {
		fail("summary: %v", err)
	}
	if err := cmd.Wait(); err != nil {
		fail("resume.mjs: %v", err)
	}
	switch {
	case !s.OK:
		fail("resume.mjs: %s", s.Error)
	case s.Messages[first] != 1 || s.Messages[marker+" end"] != 1 || len(s.Messages) != 2:
		fail("messages %v, want each of %q and %q once", s.Messages, first, marker+" end")
	case s.Resumed != 1 || s.Failed != 0:
		fail("resumed %d times, failed %d times; want one resumption", s.Resumed, s.Failed)
	case s.JIDAfter != s.JID:
		fail("the full JID changed from %s to %s", s.JID, s.JIDAfter)
	}
	t.Logf("xmpp.js resumed as %s %v after the cut began (%d disconnects); the message sent meanwhile came once",
		s.JID, resumedIn.Round(100*time.Millisecond), s.Disconnects)
}
