//go:build integration

package interop

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/xmppbridge/xmppbridge/internal/testbed"
	"github.com/xmppbridge/xmppbridge/wsframe"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// Bounds of one Converse.js run. Only the login wait is about Converse and
// the server; the others catch a browser that hangs.
const (
	converseLoginTimeout = 30 * time.Second // page loaded to roster shown
	pageActionTimeout    = 30 * time.Second // navigate, screenshot, read the log
	rosterSetupTimeout   = 30 * time.Second
	probeInterval        = 250 * time.Millisecond
)

// The browser window, and so the screenshots.
const windowWidth, windowHeight = 1280, 800

// contact is a roster item that the test puts in alice's roster.
type contact struct{ user, name string }

// converseContacts are the contacts alice's roster has in every Converse
// test, all of which the page must show.
var converseContacts = []contact{{"bob", "Bob"}, {"carol", "Carol"}}

// converseEndpoint is one place the page logs in through.
type converseEndpoint struct {
	name      string // names the subtest and the artifacts
	transport string // "bosh" or "websocket"
	url       string
	viewMode  string // Converse's view_mode; empty means fullscreen
	// discover gives the page no URL: Converse must find url by XEP-0156.
	discover bool
	browser  []chromedp.ExecAllocatorOption // added to StartBrowser's
	params   map[string]string              // more of the page's parameters (page.js)
}

// converseProbe is what xbProbe() in interop/browser/page.js reports.
type converseProbe struct {
	Initialized    bool          `json:"initialized"`
	Connected      bool          `json:"connected"`
	Authenticated  bool          `json:"authenticated"`
	Transport      string        `json:"transport"`
	Service        string        `json:"service"`
	JID            string        `json:"jid"`
	Status         string        `json:"status"`
	RosterModel    []string      `json:"rosterModel"`
	LoginFormShown bool          `json:"loginFormShown"`
	RosterShown    []rosterEntry `json:"rosterShown"`
	SelfPresence   bool          `json:"selfPresence"` // the server echoed the page's presence: it is online
	Smacks         struct {
		Enabled  bool   `json:"enabled"`
		StreamID string `json:"streamID"`
		Resumed  bool   `json:"resumed"` // the stream was resumed (XEP-0198)
	} `json:"smacks"`
	Events []string `json:"events"`
}

// rosterEntry is a contact as the page's roster shows it.
type rosterEntry struct {
	JID  string `json:"jid"`
	Text string `json:"text"` // what the entry reads
}

// shows reports whether the roster on the page lists jid.
func (p *converseProbe) shows(jid string) bool {
	return slices.ContainsFunc(p.RosterShown, func(c rosterEntry) bool { return c.JID == jid })
}

// loggedIn reports whether the page shows alice logged in with every
// contact of her roster.
func (p *converseProbe) loggedIn(domain string) bool {
	if !p.Connected || !p.Authenticated || p.LoginFormShown {
		return false
	}
	for _, c := range converseContacts {
		if !p.shows(c.user + "@" + domain) {
			return false
		}
	}
	return true
}

// TestConverse logs Converse.js in as alice in headless Chromium, from a
// page on another loopback origin, through the server's own BOSH and
// WebSocket endpoints (which shows the test is fair) and through the
// bridge's WebSocket endpoint, and checks that it shows her roster.
// converse_bosh_test.go adds the bridge's BOSH endpoint.
func TestConverse(t *testing.T) {
	eachServer(t, func(t *testing.T, p *testbed.Server) {
		page := startConverseTestbed(t, p)
		bridgeWS := startBridgeForPage(t, p, page)
		endpoints := []converseEndpoint{
			{name: "server-bosh", transport: "bosh", url: p.BOSHURL},
			{name: "server-websocket", transport: "websocket", url: p.WSURL},
			{name: "bridge-websocket", transport: "websocket", url: bridgeWS},
			// Converse inside a box of a larger page, as a site embeds it.
			{name: "bridge-websocket-embedded", transport: "websocket", url: bridgeWS, viewMode: "embedded"},
		}
		for _, ep := range endpoints {
			t.Run(ep.name, func(t *testing.T) {
				converseLogin(t, page, ep, p)
			})
		}
	})
}

// startConverseTestbed fills in alice's roster on p and starts the page
// server, and returns the page's URL (its origin).
func startConverseTestbed(t *testing.T, p *testbed.Server) string {
	t.Helper()
	if _, err := ChromiumPath(); err != nil {
		t.Fatal(err)
	}
	h, err := PageHandler()
	if err != nil {
		t.Fatal(err)
	}
	// Roster sets of items alice has already are no change, so a shared
	// server may have had this done before.
	addContacts(t, p, "alice", converseContacts...)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// addContacts puts contacts into user's roster with roster sets (RFC 6121
// §2.3) over a stream of user's own, and waits until the server has
// stored each.
func addContacts(t *testing.T, p *testbed.Server, user string, contacts ...contact) {
	t.Helper()
	tlsCfg, err := p.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), rosterSetupTimeout)
	defer cancel()
	c, err := xmppclient.Login(ctx, xmppclient.Config{Domain: p.Domain, Addr: p.C2SAddr, TLS: tlsCfg},
		xmppclient.Credentials{Username: user, Password: testbed.Password})
	if err != nil {
		t.Fatalf("roster setup: log in as %s: %v", user, err)
	}
	defer c.Close()
	// Next blocks on the socket: closing the stream ends it at the deadline.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()

	pending := map[string]string{} // iq id -> contact JID
	for i, ct := range contacts {
		id := fmt.Sprintf("roster-set-%d", i)
		jid := ct.user + "@" + p.Domain
		pending[id] = jid
		iq := fmt.Sprintf("<iq type='set' id='%s'><query xmlns='jabber:iq:roster'><item jid='%s' name='%s'/></query></iq>",
			id, html.EscapeString(jid), html.EscapeString(ct.name))
		if err := c.Write([]byte(iq)); err != nil {
			t.Fatalf("roster setup: %v", err)
		}
	}
	for len(pending) > 0 {
		ev, err := c.Next()
		if err != nil {
			t.Fatalf("roster setup: waiting for the answers about %v: %v", pending, err)
		}
		if ev.Kind == xmppclient.EventEnd {
			t.Fatalf("roster setup: the server closed the stream; still waiting for %v", pending)
		}
		if ev.Kind != xmppclient.EventElement {
			continue
		}
		var iq struct {
			XMLName xml.Name
			ID      string `xml:"id,attr"`
			Type    string `xml:"type,attr"`
		}
		if xml.Unmarshal(ev.Data, &iq) != nil || iq.XMLName.Local != "iq" {
			continue // roster pushes and the like come as iqs too; others are not ours
		}
		jid, ok := pending[iq.ID]
		if !ok {
			continue
		}
		if iq.Type != "result" {
			t.Fatalf("roster setup: adding %s: %s", jid, ev.Data)
		}
		delete(pending, iq.ID)
	}
	// Close as a client should: ours, then wait for the server's.
	if err := c.CloseStream(); err != nil {
		t.Fatalf("roster setup: close the stream: %v", err)
	}
	for {
		ev, err := c.Next()
		if err != nil || ev.Kind == xmppclient.EventEnd {
			return
		}
	}
}

// startBridgeForPage serves the bridge's WebSocket endpoint in front of p,
// as startBridge does, but lets in browsers from the page's origin, and
// returns its URL.
func startBridgeForPage(t *testing.T, p *testbed.Server, pageOrigin string) string {
	t.Helper()
	hub := newBridgeHub(t, p, xmppclient.StartTLS)
	h := wsframe.New(wsframe.Config{Hub: hub, CheckOrigin: allowOrigin(pageOrigin)})
	u := serveBridge(t, hub, "/xmpp-websocket", h)
	return "ws" + strings.TrimPrefix(u, "http")
}

// allowOrigin lets in requests whose Origin is origin exactly.
func allowOrigin(origin string) func(*http.Request) bool {
	return func(r *http.Request) bool { return r.Header.Get("Origin") == origin }
}

// converseLogin opens the page in a fresh Chromium as alice on p, through
// ep, and waits until Converse shows her logged in with her roster. It
// saves a screenshot, the page's console and Converse's own log under
// interop/artifacts/ (converse-KIND-ENDPOINT.*), and on failure reports
// both logs.
func converseLogin(t *testing.T, page string, ep converseEndpoint, p *testbed.Server) {
	t.Helper()
	b, art, last := openConverse(t, page, ep, p)
	defer b.Close()
	art.save(b, &last)
	var names []string
	for _, c := range last.RosterShown {
		names = append(names, fmt.Sprintf("%s (%s)", c.Text, c.JID))
	}
	t.Logf("%s: logged in as %s over %s; roster shows %s; screenshot %s", ep.name, last.JID, last.Transport, strings.Join(names, ", "), art.path(".png"))
}

// openConverse opens the page in a fresh Chromium as alice on p, through
// ep, and waits until Converse shows her logged in with her roster, over
// ep's endpoint. The caller closes the browser; the artifacts are named
// converse-KIND-ENDPOINT.
func openConverse(t *testing.T, page string, ep converseEndpoint, p *testbed.Server) (*Browser, *artifacts, converseProbe) {
	t.Helper()
	domain := p.Domain
	param := map[string]string{"bosh": "bosh_service_url", "websocket": "websocket_url"}[ep.transport]
	viewMode := ep.viewMode
	if viewMode == "" {
		viewMode = "fullscreen"
	}
	q := url.Values{
		"domain":     {domain},
		"jid":        {"alice@" + domain},
		"password":   {testbed.Password},
		"auto_login": {"1"},
		"view_mode":  {viewMode},
		"animations": {"0"},
	}
	if ep.discover {
		q.Set("discover", "1")
	} else {
		q.Set(param, ep.url)
	}
	for k, v := range ep.params {
		q.Set(k, v)
	}
	pageURL := page + "/?" + q.Encode()

	b, err := StartBrowser(windowWidth, windowHeight, ep.browser...)
	if err != nil {
		t.Fatal(err)
	}
	art := newArtifacts(t, "converse-"+string(p.Kind)+"-"+ep.name)
	t.Cleanup(b.Close) // Close may be called again

	ctx, cancel := context.WithTimeout(b.Context(), pageActionTimeout)
	err = chromedp.Do(ctx, chromedp.EmulateViewport(windowWidth, windowHeight), chromedp.Navigate(pageURL))
	cancel()
	if err != nil {
		art.fail(b, nil, "open %s: %v", pageURL, err)
	}
	last := art.waitPage(b, converseLoginTimeout, "Converse to show alice logged in with her roster",
		func(pr *converseProbe) bool { return pr.loggedIn(domain) })

	// Converse must have used the endpoint under test, not found another.
	if last.Transport != ep.transport || last.Service != ep.url {
		t.Errorf("Converse is connected over %s to %s, want %s to %s", last.Transport, last.Service, ep.transport, ep.url)
	}
	if !strings.HasPrefix(last.JID, "alice@"+domain+"/") {
		t.Errorf("Converse's JID is %q, want alice@%s/resource", last.JID, domain)
	}
	return b, art, last
}

// probe reads the page's state (xbProbe).
func (a *artifacts) probe(b *Browser) converseProbe {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), pageActionTimeout)
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify(typeof xbProbe === "function" ? xbProbe() : {})`))
	cancel()
	if err != nil {
		a.fail(b, nil, "reading the page's state: %v", err)
	}
	var pr converseProbe
	if err := json.Unmarshal([]byte(s), &pr); err != nil {
		a.fail(b, nil, "page state %q: %v", s, err)
	}
	return pr
}

// waitPage probes the page until ok says yes, and fails the test, saying
// it waited for what, when that takes longer than timeout.
func (a *artifacts) waitPage(b *Browser, timeout time.Duration, what string, ok func(*converseProbe) bool) converseProbe {
	a.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		last := a.probe(b)
		if ok(&last) {
			return last
		}
		if time.Now().After(deadline) {
			a.fail(b, &last, "waited %v for %s", timeout, what)
		}
		time.Sleep(probeInterval)
	}
}

// artifacts are the files one browser run leaves in interop/artifacts/
// (ignored by git): NAME.png, NAME.console.log (the page's console) and
// NAME.converse.log (Converse's own log, with the XML it sent and got).
type artifacts struct {
	t    *testing.T
	dir  string
	name string
}

func newArtifacts(t *testing.T, name string) *artifacts {
	t.Helper()
	root, err := testbed.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	a := &artifacts{t: t, dir: filepath.Join(root, "interop", "artifacts"), name: name}
	if err := os.MkdirAll(a.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A failed run must not leave the last good run's files looking current.
	for _, ext := range []string{".png", ".console.log", ".converse.log"} {
		os.Remove(a.path(ext))
	}
	return a
}

func (a *artifacts) path(ext string) string { return filepath.Join(a.dir, a.name+ext) }

// save writes the screenshot and both logs, and returns the logs. What it
// cannot get is reported as an error of the test, not a failure to stop it.
func (a *artifacts) save(b *Browser, probe *converseProbe) (console, converse []string) {
	a.t.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), pageActionTimeout)
	defer cancel()
	// Wait for web fonts and two frames, so the picture is the page as drawn.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`document.fonts.ready.then(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true)))))`,
		chromedp.EvalAwaitPromise)); err != nil {
		a.t.Logf("waiting for the page to be drawn: %v", err)
	}
	if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err != nil {
		a.t.Errorf("screenshot: %v", err)
	} else if err := os.WriteFile(a.path(".png"), png, 0o644); err != nil {
		a.t.Error(err)
	}
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(window.xbConverseLog || []).join("\n")`))
	if err != nil {
		s = fmt.Sprintf("(Converse's log could not be read: %v)", err)
	}
	converse = strings.Split(s, "\n")
	console = b.Console()
	consoleText := strings.Join(console, "\n") + "\n"
	if probe != nil {
		j, _ := json.MarshalIndent(probe, "", "  ")
		consoleText += "--- last state of the page (xbProbe)\n" + string(j) + "\n"
	}
	if out := b.Output(); out != "" {
		consoleText += "--- Chromium's output\n" + out
	}
	if err := os.WriteFile(a.path(".console.log"), []byte(consoleText), 0o644); err != nil {
		a.t.Error(err)
	}
	if err := os.WriteFile(a.path(".converse.log"), []byte(s+"\n"), 0o644); err != nil {
		a.t.Error(err)
	}
	return console, converse
}

// fail saves the artifacts and ends the test with the reason, the page's
// last state, and the ends of the page's console and of Converse's log.
func (a *artifacts) fail(b *Browser, probe *converseProbe, format string, args ...any) {
	a.t.Helper()
	console, converse := a.save(b, probe)
	msg := fmt.Sprintf(format, args...)
	if probe != nil {
		j, _ := json.Marshal(probe)
		msg += "\npage state: " + string(j)
	}
	msg += fmt.Sprintf("\n--- page console (%s):\n%s", a.path(".console.log"), tail(console, 80))
	msg += fmt.Sprintf("\n--- Converse's log (%s):\n%s", a.path(".converse.log"), tail(converse, 150))
	msg += "\n--- screenshot: " + a.path(".png")
	a.t.Fatal(msg)
}

// tail returns the last n lines, each cut to 2000 bytes, and says how many
// were left out.
func tail(lines []string, n int) string {
	skipped := 0
	if len(lines) > n {
		skipped = len(lines) - n
		lines = lines[skipped:]
	}
	var sb strings.Builder
	if skipped > 0 {
		fmt.Fprintf(&sb, "(%d earlier lines in the file)\n", skipped)
	}
	for _, l := range lines {
		if len(l) > 2000 {
			l = l[:2000] + " …"
		}
		sb.WriteString(l)
		sb.WriteByte('\n')
	}
	return sb.String()
}
