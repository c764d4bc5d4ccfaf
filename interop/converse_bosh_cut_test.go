//go:build integration

package interop

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/xmppbridge/xmppbridge/bosh"
	"github.com/xmppbridge/xmppbridge/internal/testbed"
	"github.com/xmppbridge/xmppbridge/internal/testpeer"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// boshCutLength is the cut a BOSH client rides out. Strophe.js (inside
// Converse.js) resends a failed request after 1 s, then after 8 s, and
// gives up on the fifth failure: a cut that outlasts the first resend and
// ends before the second costs each of the session's two requests two
// failures, and the next resend gets through.
const boshCutLength = 3 * time.Second

// TestConverseBOSHCut has Converse.js over BOSH lose every HTTP connection
// for a few seconds, while bob sends alice a message: the BOSH session
// must go on (Converse does not reconnect, the full JID stays) and show the
// message exactly once. BOSH needs no stream management for this, and
// Converse.js uses none over BOSH: the session lives in the connection
// manager between requests, and a lost answer is had again by resending
// its request. Straight to the server's own BOSH endpoint, which shows the
// test fair, and through the bridge's.
func TestConverseBOSHCut(t *testing.T) {
	eachServer(t, func(t *testing.T, p *testbed.Server) {
		page := startConverseTestbed(t, p)
		t.Run("server-cut", func(t *testing.T) {
			proxy := startCutProxy(t, hostPort(t, p.BOSHURL))
			converseBOSHCut(t, page, p, "bosh-server-cut", proxy.URL(p.BOSHURL), proxy)
		})
		t.Run("bridge-cut", func(t *testing.T) {
			hub := newBridgeHub(t, p, xmppclient.StartTLS)
			h := bosh.New(bosh.Config{Hub: hub, CheckOrigin: allowOrigin(page)})
			u := serveBridge(t, hub, "/http-bind", h)
			proxy := startCutProxy(t, hostPort(t, u))
			converseBOSHCut(t, page, p, "bosh-bridge-cut", proxy.URL(u), proxy)
		})
	})
}

// converseBOSHCut logs Converse.js in over BOSH at url (through proxy),
// opens a chat with bob, cuts the proxy while bob sends a message, and
// checks that the session went on and the message shows once, as does one
// bob sends after the cut.
func converseBOSHCut(t *testing.T, page string, p *testbed.Server, name, url string, proxy *cutProxy) {
	t.Helper()
	run := randomID()
	r := &resumeRun{
		t:      t,
		to:     "alice@" + p.Domain,
		first:  "sent during the cut " + run,
		second: "sent after the cut " + run,
	}
	b, art, before := openConverse(t, page, converseEndpoint{
		name:      name,
		transport: "bosh",
		url:       url,
		params:    map[string]string{"auto_reconnect": "1", "loglevel": "debug"},
	}, p)
	defer b.Close()
	// The server must take alice to be online, else it has nowhere to
	// send bob's message to.
	before = art.waitPage(b, converseLoginTimeout, "the presence echoed",
		func(pr *converseProbe) bool { return pr.SelfPresence })
	bob := "bob@" + p.Domain
	ctx, cancel := context.WithTimeout(b.Context(), pageActionTimeout)
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf("xbOpenChat(%q)", bob), chromedp.EvalAwaitPromise))
	cancel()
	if err != nil {
		art.fail(b, &before, "opening the chat with %s: %v", bob, err)
	}
	r.bob = testpeer.Login(t, p, "bob", "cut-"+run)

	start := time.Now()
	proxy.Cut(boshCutLength)
	r.send(r.first)
	after := art.waitPage(b, resumeTimeout, "Converse to show the message sent during the cut",
		func(pr *converseProbe) bool { return art.messages(b, r.first).Shown > 0 })
	took := time.Since(start)
	r.send(r.second)
	art.waitPage(b, resumeTimeout, "Converse to show the message sent after the cut",
		func(*converseProbe) bool { return art.messages(b, r.second).Shown > 0 })
	art.save(b, &after)

	var problems []string
	for _, body := range []string{r.first, r.second} {
		if m := art.messages(b, body); m.Shown != 1 || m.Held != 1 {
			problems = append(problems, fmt.Sprintf("%q is shown %d times, held %d times; want once", body, m.Shown, m.Held))
		}
	}
	if i := slices.IndexFunc(after.Events, func(e string) bool {
		return strings.HasSuffix(e, " disconnected") || strings.HasSuffix(e, " reconnected")
	}); i >= 0 {
		problems = append(problems, "the BOSH session did not go on: "+after.Events[i])
	}
	if after.JID != before.JID || !after.Connected {
		problems = append(problems, fmt.Sprintf("connected %v as %s, want still as %s", after.Connected, after.JID, before.JID))
	}
	if len(problems) > 0 {
		art.fail(b, &after, "%s", strings.Join(problems, "\n"))
	}
	t.Logf("%s: the session went on as %s; the message sent during the cut shown once, %v after it began",
		name, after.JID, took.Round(100*time.Millisecond))
}
