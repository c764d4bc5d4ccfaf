//go:build integration

package interop

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/xmppbridge/xmppbridge/internal/testbed"
	"github.com/xmppbridge/xmppbridge/internal/testpeer"
)

// cutLength is how long a network cut lasts: long enough that a client's
// first attempts to reconnect fail, short enough to keep the tests quick.
const cutLength = 6 * time.Second

// resumeTimeout bounds the wait from a drop to the client's showing the
// message sent while it was away. Converse.js tries again every 3 seconds.
const resumeTimeout = 60 * time.Second

// TestConverseResume has Converse.js in Chromium, with XEP-0198 stream
// management (enable_smacks) and auto_reconnect on, lose its WebSocket
// while bob sends alice a message, and checks that it resumes its stream
// (<resumed/>, the same full JID) and shows that message exactly once.
//
//   - server-cut: a cut of the network (cutProxy) between the page and the
//     server's own endpoint. This shows the test fair: what a client and
//     a server do without the bridge, the bridge must do too.
//   - bridge-cut: the same cut between the page and the bridge.
//   - bridge-kill: the bridge process is killed (SIGKILL) and started
//     again on its address; the server saw its connection drop, as in a
//     cut, and keeps the session for the browser to resume.
//   - bridge-drain: the bridge is drained (SIGTERM) with [websocket]
//     drain_url naming a second bridge process. The page reaches the
//     bridges through a balancer (a cutProxy) that sends new connections
//     to the second once the drain begins: Converse.js (Strophe.js)
//     follows see-other-uri only in answer to its stream header, and
//     reconnects to the URL it has when told mid-stream. The page must
//     be told see-other-uri, and resume through the second bridge.
//
// For the kill and the drain the server sees what it sees in a cut: a
// connection that ends without a stream close. A server's own endpoint
// has no drain and cannot be killed without losing its sessions, so the
// server-cut case is their fair counterpart too.
func TestConverseResume(t *testing.T) {
	eachServer(t, func(t *testing.T, p *testbed.Server) {
		page := startConverseTestbed(t, p)
		t.Run("server-cut", func(t *testing.T) {
			proxy := startCutProxy(t, hostPort(t, p.WSURL))
			converseResume(t, page, p, "server-cut", proxy.URL(p.WSURL), func(r *resumeRun) {
				proxy.Cut(cutLength)
				r.send(r.first)
			})
		})
		t.Run("bridge-cut", func(t *testing.T) {
			bridgeWS := startBridgeForPage(t, p, page)
			proxy := startCutProxy(t, hostPort(t, bridgeWS))
			converseResume(t, page, p, "bridge-cut", proxy.URL(bridgeWS), func(r *resumeRun) {
				proxy.Cut(cutLength)
				r.send(r.first)
			})
		})
		t.Run("bridge-kill", func(t *testing.T) {
			d := startBridgeDaemon(t, p, page)
			converseResume(t, page, p, "bridge-kill", d.WSURL(), func(r *resumeRun) {
				d.Kill()
				r.send(r.first)
				d.Restart()
			})
		})
		t.Run("bridge-drain", func(t *testing.T) {
			second := startBridgeDaemon(t, p, page)
			first := startBridgeDaemon(t, p, page, fmt.Sprintf("[websocket]\ndrain_url = %q\n", second.WSURL()))
			balancer := startCutProxy(t, first.addr)
			r := converseResume(t, page, p, "bridge-drain", balancer.URL(first.WSURL()), func(r *resumeRun) {
				// The balancer takes the first bridge out (its /readyz
				// says 503 from the signal on) and, for a while, has
				// nowhere to send anyone: the message comes meanwhile.
				balancer.SetTarget(second.addr)
				balancer.Refuse(cutLength)
				first.Term()
				r.send(r.first)
			})
			if !slices.ContainsFunc(strings.Split(r.log, "\n"), func(l string) bool {
				return strings.Contains(l, "see-other-uri") && strings.Contains(l, second.WSURL())
			}) {
				t.Errorf("Converse's log shows no <close see-other-uri='%s'/>", second.WSURL())
			}
			// The drain ended the session for the reason it had, whatever
			// the browser was told.
			ended := slices.DeleteFunc(strings.Split(first.Log(), "\n"), func(l string) bool {
				return !strings.Contains(l, `msg="session ended"`)
			})
			if len(ended) != 1 || !strings.Contains(ended[0], "reason=shutdown") {
				t.Errorf("the first bridge logged %q, want one session ended with reason=shutdown\n%s", ended, first.Log())
			}
		})
	})
}

// resumeRun is one run of converseResume: the messages bob sends alice.
type resumeRun struct {
	t      *testing.T
	bob    *testpeer.Peer
	to     string // alice's bare JID
	first  string // sent while alice is away
	second string // sent after she is back: when it shows, the first had its chance to show twice
	log    string // Converse's log, at the end
}

// send has bob send alice a chat message with body, and waits until the
// server has taken it.
func (r *resumeRun) send(body string) {
	r.t.Helper()
	r.bob.Send(fmt.Sprintf("<message to='%s' type='chat' id='%s'><body>%s</body></message>",
		r.to, "resume-"+randomID(), html.EscapeString(body)))
	r.bob.Sync()
}

// converseResume logs Converse.js in as alice through url with stream
// management and auto_reconnect, opens a chat with bob, has drop take her
// connection away (drop sends r.first as bob meanwhile), and checks that
// Converse resumes its stream and shows r.first once, and r.second, which
// bob sends after the resumption, once too.
func converseResume(t *testing.T, page string, p *testbed.Server, name, wsURL string, drop func(*resumeRun)) *resumeRun {
	t.Helper()
	run := randomID()
	r := &resumeRun{
		t:      t,
		to:     "alice@" + p.Domain,
		first:  "sent while you were away " + run,
		second: "sent after you came back " + run,
	}
	b, art, before := openConverse(t, page, converseEndpoint{
		name:      "resume-" + name,
		transport: "websocket",
		url:       wsURL,
		params:    map[string]string{"auto_reconnect": "1", "enable_smacks": "1", "loglevel": "debug"},
	}, p)
	defer b.Close()
	// Resumption must be on, else there is nothing to test; and the
	// server must take alice to be online, else it has nowhere to send
	// bob's message to.
	before = art.waitPage(b, converseLoginTimeout, "stream management with resumption (<enabled resume='true'/>) and the presence echoed",
		func(pr *converseProbe) bool { return pr.Smacks.Enabled && pr.Smacks.StreamID != "" && pr.SelfPresence })
	bob := "bob@" + p.Domain
	ctx, cancel := context.WithTimeout(b.Context(), pageActionTimeout)
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf("xbOpenChat(%q)", bob), chromedp.EvalAwaitPromise))
	cancel()
	if err != nil {
		art.fail(b, &before, "opening the chat with %s: %v", bob, err)
	}
	r.bob = testpeer.Login(t, p, "bob", "resume-"+run)

	start := time.Now()
	drop(r)
	after := art.waitPage(b, resumeTimeout, "Converse to reconnect and show the message sent while it was away",
		func(pr *converseProbe) bool {
			return pr.Connected && pr.Authenticated && slices.ContainsFunc(pr.Events, func(e string) bool {
				return strings.HasSuffix(e, " reconnected")
			}) && art.messages(b, r.first).Shown > 0
		})
	resumedIn := time.Since(start)
	r.send(r.second)
	art.waitPage(b, resumeTimeout, "Converse to show the message sent after it came back",
		func(*converseProbe) bool { return art.messages(b, r.second).Shown > 0 })

	_, converseLog := art.save(b, &after)
	r.log = strings.Join(converseLog, "\n")
	var problems []string
	for _, body := range []string{r.first, r.second} {
		if m := art.messages(b, body); m.Shown != 1 || m.Held != 1 {
			problems = append(problems, fmt.Sprintf("%q is shown %d times, held %d times; want once", body, m.Shown, m.Held))
		}
	}
	if !after.Smacks.Resumed || !strings.Contains(r.log, "<resumed ") {
		problems = append(problems, "the stream was not resumed (no <resumed/>)")
	}
	if slices.ContainsFunc(after.Events, func(e string) bool { return strings.HasSuffix(e, "streamResumptionFailed") }) {
		problems = append(problems, "Converse says the resumption failed")
	}
	if after.JID != before.JID {
		problems = append(problems, fmt.Sprintf("the full JID changed from %s to %s: a new session, not the old one resumed", before.JID, after.JID))
	}
	if len(problems) > 0 {
		art.fail(b, &after, "%s", strings.Join(problems, "\n"))
	}
	t.Logf("%s: resumed as %s, %v after the drop; the message sent meanwhile shown once; screenshot %s",
		name, after.JID, resumedIn.Round(100*time.Millisecond), art.path(".png"))
	return r
}

// messageCount is what xbMessages in page.js reports.
type messageCount struct {
	Shown int `json:"shown"` // visible on the page
	Held  int `json:"held"`  // in Converse's chat models
}

// messages counts the messages with text that the page shows and holds.
func (a *artifacts) messages(b *Browser, text string) messageCount {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), pageActionTimeout)
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf("JSON.stringify(xbMessages(%q))", text)))
	cancel()
	if err != nil {
		a.fail(b, nil, "counting the messages: %v", err)
	}
	var m messageCount
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		a.fail(b, nil, "xbMessages: %q: %v", s, err)
	}
	return m
}

// hostPort is the host:port of a URL.
func hostPort(t *testing.T, u string) string {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return parsed.Host
}

// randomID is a short random hex string, to tell runs apart.
func randomID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
