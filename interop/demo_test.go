//go:build integration

package interop

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/xmppbridge/xmppbridge/internal/httphold"
	"github.com/xmppbridge/xmppbridge/internal/testbed"
	"github.com/xmppbridge/xmppbridge/jsonapi"
	"github.com/xmppbridge/xmppbridge/web"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// demoWaitTimeout bounds each wait for the demo page to show something: a
// login, a contact online, a message. They take well under a second.
const demoWaitTimeout = 30 * time.Second

// demoUser is one side of the demo chat.
type demoUser struct {
	name, jid string
	b         *Browser
	art       string // artifact name: demo-KIND-TRANSPORT-NAME
}

// demoState is what demoProbe reads off the page.
type demoState struct {
	View       string           `json:"view"` // "login" or "chat"
	Status     string           `json:"status"`
	StatusText string           `json:"statusText"`
	Transport  string           `json:"transport"`
	Me         string           `json:"me"`
	LoginError string           `json:"loginError"`
	Contacts   []demoContact    `json:"contacts"`
	Chat       string           `json:"chat"`     // the contact whose chat is open
	Typing     string           `json:"typing"`   // the typing indicator's text, when shown
	Requests   []string         `json:"requests"` // subscription requests shown
	Incoming   []string         `json:"incoming"`
	Outgoing   []demoOutMessage `json:"outgoing"`
}

type demoContact struct {
	JID      string `json:"jid"`
	Presence string `json:"presence"`
	Text     string `json:"text"`
}

type demoOutMessage struct {
	Text  string `json:"text"`
	State string `json:"state"`
}

func (s *demoState) contact(jid string) *demoContact {
	for i := range s.Contacts {
		if s.Contacts[i].JID == jid {
			return &s.Contacts[i]
		}
	}
	return nil
}

// demoProbe reads the page through the ids and data attributes the page
// keeps for tests.
const demoProbe = `JSON.stringify((() => {
  const q = (s) => document.querySelector(s);
  const all = (s) => [...document.querySelectorAll(s)];
  const shown = (s) => q(s) && !q(s).hidden;
  return {
    view: shown('#chat-view') ? 'chat' : 'login',
    status: q('#status')?.dataset.state ?? '',
    statusText: q('#status .status-text')?.textContent ?? '',
    transport: q('#status')?.dataset.transport ?? '',
    me: q('#me')?.dataset.jid ?? '',
    loginError: shown('#login-error') ? q('#login-error').textContent : '',
    contacts: all('#roster [data-contact]').map((e) => ({ jid: e.dataset.contact, presence: e.dataset.presence, text: e.textContent })),
    chat: shown('#chat') ? q('#chat').dataset.contact : '',
    typing: shown('#typing') ? q('#typing').textContent : '',
    requests: all('#request-list [data-request]').map((e) => e.dataset.request),
    incoming: all('#messages .message.incoming .bubble').map((e) => e.textContent),
    outgoing: all('#messages .message.outgoing').map((e) => ({ text: e.querySelector('.bubble').textContent, state: e.dataset.state ?? '' })),
  };
})())`

// TestDemo drives the demo chat page (package web) in two headless
// Chromiums, as alice and bob, through the bridge's JSON API in front of
// a real server of each kind, once per transport (forced with the page's
// ?transport=): each logs in, sees the other online, sees the other typing,
// and they exchange messages both ways, with delivery receipts. Screenshots
// and the pages' consoles land in interop/artifacts/demo-KIND-*.
//
// alice and bob share presence from the start: the test subscribes them to
// each other over plain XMPP (RFC 6121 §3) before the browsers come in, so
// that each run starts from the same roster. Since that changes rosters
// other tests rely on (carol must be in nobody's), the demo has servers of
// its own.
func TestDemo(t *testing.T) {
	if _, err := ChromiumPath(); err != nil {
		t.Fatal(err)
	}
	eachKind(t, func(t *testing.T, kind testbed.Kind) {
		p := testbed.StartWith(t, testbed.Options{Kind: kind})
		subscribeEachOther(t, p, "alice", "bob")
		page := startDemoServer(t, p)

		for _, transport := range []string{"websocket", "sse", "poll"} {
			t.Run(transport, func(t *testing.T) {
				demoChat(t, page, transport, p)
			})
		}
		t.Run("subscribe", func(t *testing.T) {
			demoSubscribe(t, page, p)
		})
		t.Run("reload", func(t *testing.T) {
			demoReload(t, page, p)
		})
		t.Run("tabs", func(t *testing.T) {
			demoTabs(t, page, p)
		})
		for _, transport := range []string{"websocket", "sse", "poll"} {
			t.Run("cut-"+transport, func(t *testing.T) {
				demoNetworkCut(t, page, transport, p)
			})
		}
	})
}

// startDemoServer serves the demo page at / and the JSON API at /json/ on
// one loopback origin, as cmd/xmppbridge does, and returns the page's URL.
func startDemoServer(t *testing.T, p *testbed.Server) string {
	t.Helper()
	hub := newBridgeHub(t, p, xmppclient.StartTLS)
	jh := jsonapi.New(jsonapi.Config{Hub: hub})
	mux := http.NewServeMux()
	mux.Handle("/json/", jh)
	mux.Handle("/", web.Handler())
	// As cmd/xmppbridge serves: held requests are taken over (httphold).
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener = httphold.Attach(srv.Config, srv.Listener, 0)
	srv.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := hub.Shutdown(ctx); err != nil {
			t.Errorf("hub shutdown: %v", err)
		}
		if err := jh.Shutdown(ctx); err != nil {
			t.Errorf("json shutdown: %v", err)
		}
		srv.Close()
	})
	return srv.URL + "/"
}

// demoChat is one run of the demo over one transport.
func demoChat(t *testing.T, page, transport string, p *testbed.Server) {
	alice := startDemoUser(t, "alice", p, transport)
	bob := startDemoUser(t, "bob", p, transport)
	for _, u := range []*demoUser{alice, bob} {
		u.do(t, "open the page and fill in the form",
			chromedp.Navigate(page+"?transport="+transport),
			chromedp.WaitVisible(chromedp.CSS("#login-form")),
			chromedp.SendKeys(chromedp.CSS("#jid"), u.jid),
			chromedp.SendKeys(chromedp.CSS("#password"), testbed.Password),
		)
		if u == alice && transport == "websocket" {
			u.screenshot(t, "demo-"+string(p.Kind)+"-login")
		}
		u.do(t, "log in", chromedp.Click(chromedp.CSS("#login-button")))
	}
	for _, u := range []*demoUser{alice, bob} {
		s := u.waitFor(t, "logged in over "+transport, func(s *demoState) bool {
			return s.View == "chat" && s.Status == "online"
		})
		if s.Transport != transport {
			u.fail(t, s, "the page is online over %q, want %q", s.Transport, transport)
		}
		if !strings.HasPrefix(s.Me, u.jid+"/") {
			u.fail(t, s, "the page shows the user as %q, want %s/resource", s.Me, u.jid)
		}
	}

	// Each sees the other online in the roster, and opens the chat.
	for _, pair := range [][2]*demoUser{{alice, bob}, {bob, alice}} {
		u, peer := pair[0], pair[1]
		u.waitFor(t, peer.name+" online in the roster", func(s *demoState) bool {
			c := s.contact(peer.jid)
			return c != nil && c.Presence == "online"
		})
		u.do(t, "open the chat with "+peer.name, chromedp.Click(chromedp.CSS(fmt.Sprintf("#roster [data-contact=%q]", peer.jid))))
		u.waitFor(t, "the chat with "+peer.name+" open", func(s *demoState) bool { return s.Chat == peer.jid })
	}

	// bob types: alice sees it, then the message, and the indicator goes.
	hello := fmt.Sprintf("Hi alice, bob here over %s <b>not bold</b> & ünïcødé 🙂", transport)
	bob.do(t, "type", chromedp.SendKeys(chromedp.CSS("#message-input"), hello))
	alice.waitFor(t, "bob typing", func(s *demoState) bool { return strings.Contains(s.Typing, "typing") })
	bob.do(t, "send", enterKey)
	alice.waitFor(t, "bob's message", func(s *demoState) bool {
		return len(s.Incoming) == 1 && s.Incoming[0] == hello && s.Typing == ""
	})

	// alice answers twice; bob sees both, in order; receipts come back.
	answers := []string{"Hello bob! Got it over " + transport + ".", "Line one\nline two"}
	for _, a := range answers {
		for i, line := range strings.Split(a, "\n") {
			if i > 0 {
				// Shift+Enter is a line break in the composer.
				alice.do(t, "line break", chromedp.KeyEvent("\r", chromedp.KeyModifiers(chromedp.ModifierShift)))
			}
			alice.do(t, "type", chromedp.SendKeys(chromedp.CSS("#message-input"), line))
		}
		alice.do(t, "send", enterKey)
	}
	bob.waitFor(t, "alice's answers", func(s *demoState) bool {
		return strings.Join(s.Incoming, "|") == strings.Join(answers, "|")
	})
	bob.waitFor(t, "alice's receipt", func(s *demoState) bool {
		return len(s.Outgoing) == 1 && s.Outgoing[0].Text == hello && s.Outgoing[0].State == "delivered"
	})
	alice.waitFor(t, "bob's receipts", func(s *demoState) bool {
		return len(s.Outgoing) == 2 && s.Outgoing[0].State == "delivered" && s.Outgoing[1].State == "delivered"
	})

	for _, u := range []*demoUser{alice, bob} {
		u.save(t, nil)
		t.Logf("%s: screenshot %s", u.name, u.path(".png"))
	}
	if transport != "websocket" {
		// alice's network goes away for a while; she writes, and so does
		// bob: her page resumes the same session, and each message arrives
		// once. (A WebSocket is not resumed: a new session replaces it.)
		alice.setOffline(t, true)
		fromAlice := "Written offline over " + transport
		alice.do(t, "type", chromedp.SendKeys(chromedp.CSS("#message-input"), fromAlice))
		alice.do(t, "send", enterKey)
		alice.waitFor(t, "reconnecting", func(s *demoState) bool { return s.Status == "reconnecting" })
		fromBob := "Sent while alice was offline over " + transport
		bob.do(t, "type", chromedp.SendKeys(chromedp.CSS("#message-input"), fromBob))
		bob.do(t, "send", enterKey)
		time.Sleep(time.Second)
		alice.setOffline(t, false)
		alice.waitFor(t, "bob's message, once, online again over "+transport, func(s *demoState) bool {
			return s.Status == "online" && s.Transport == transport && strings.Join(s.Incoming, "|") == hello+"|"+fromBob
		})
		bob.waitFor(t, "alice's message, once", func(s *demoState) bool {
			return strings.Join(s.Incoming, "|") == strings.Join(append(answers, fromAlice), "|")
		})
		alice.waitFor(t, "bob's receipt", func(s *demoState) bool { return len(s.Outgoing) == 3 && s.Outgoing[2].State == "delivered" })
		bob.waitFor(t, "alice's receipt", func(s *demoState) bool { return len(s.Outgoing) == 2 && s.Outgoing[1].State == "delivered" })
		time.Sleep(500 * time.Millisecond) // room for a duplicate to show
		for _, u := range []*demoUser{alice, bob} {
			if s := u.probe(); s == nil || len(s.Incoming)+len(s.Outgoing) != 5 {
				u.fail(t, s, "a message came twice, or went")
			}
		}
	}
	if transport == "websocket" {
		// The same chat on a phone: one pane at a time.
		bob.do(t, "narrow the window", chromedp.EmulateViewport(390, 844))
		bob.screenshot(t, "demo-"+string(p.Kind)+"-narrow")
		bob.do(t, "widen the window", chromedp.EmulateViewport(windowWidth, windowHeight))
	}

	// bob logs out: alice sees him go offline.
	bob.do(t, "log out", chromedp.Click(chromedp.CSS("#logout")))
	bob.waitFor(t, "the login form again", func(s *demoState) bool { return s.View == "login" })
	alice.waitFor(t, "bob offline", func(s *demoState) bool {
		c := s.contact(bob.jid)
		return c != nil && c.Presence == "offline"
	})
}

// demoSubscribe has alice add carol, who is in nobody's roster, through
// the page: carol sees the request and accepts it, alice's page approves
// carol's request back by itself, and each then sees the other online.
// The page picks its transport itself.
func demoSubscribe(t *testing.T, page string, p *testbed.Server) {
	alice := startDemoUser(t, "alice", p, "subscribe")
	carol := startDemoUser(t, "carol", p, "subscribe")
	for _, u := range []*demoUser{alice, carol} {
		u.do(t, "open the page and log in",
			chromedp.Navigate(page),
			chromedp.WaitVisible(chromedp.CSS("#login-form")),
			chromedp.SendKeys(chromedp.CSS("#jid"), u.jid),
			chromedp.SendKeys(chromedp.CSS("#password"), testbed.Password),
			chromedp.Click(chromedp.CSS("#login-button")),
		)
		u.waitFor(t, "logged in", func(s *demoState) bool { return s.View == "chat" && s.Status == "online" })
	}
	alice.do(t, "add carol",
		chromedp.SendKeys(chromedp.CSS("#add-jid"), carol.jid),
		chromedp.Click(chromedp.CSS("#add-contact button")),
	)
	carol.waitFor(t, "alice's request", func(s *demoState) bool { return slices.Contains(s.Requests, alice.jid) })
	carol.do(t, "accept it", chromedp.Click(chromedp.CSS(fmt.Sprintf("#request-list [data-request=%q] .accept", alice.jid))))
	for _, pair := range [][2]*demoUser{{alice, carol}, {carol, alice}} {
		u, peer := pair[0], pair[1]
		s := u.waitFor(t, peer.name+" online in the roster", func(s *demoState) bool {
			c := s.contact(peer.jid)
			return c != nil && c.Presence == "online"
		})
		if len(s.Requests) > 0 {
			u.fail(t, s, "%s's page still shows requests: %v", u.name, s.Requests)
		}
	}
	alice.save(t, nil)
}

// enterKey presses Enter in the focused element as a keyboard does: a key
// down that the page may cancel (the composer sends on it) and a key up.
// SendKeys("\n") would add a char event, which types a line break even
// after the page has cancelled the key down.
var enterKey = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
		if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
			Type: typ, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13,
		}); err != nil {
			return err
		}
	}
	return nil
})

// setOffline cuts the tab off the network, or gives it back, as DevTools'
// "Offline" does: requests under way fail and new ones are refused.
func (u *demoUser) setOffline(t *testing.T, offline bool) {
	t.Helper()
	u.do(t, fmt.Sprintf("set the network offline=%v", offline), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1}},
		})
		return err
	}))
}

// startDemoUser starts a Chromium for one user; it is closed when the test
// ends.
func startDemoUser(t *testing.T, name string, p *testbed.Server, transport string) *demoUser {
	t.Helper()
	b, err := StartBrowser(windowWidth, windowHeight)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	u := &demoUser{name: name, jid: name + "@" + p.Domain, b: b, art: "demo-" + string(p.Kind) + "-" + transport + "-" + name}
	root, err := testbed.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "interop", "artifacts"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A failed run must not leave the last good run's files looking current.
	for _, ext := range []string{".png", ".console.log"} {
		os.Remove(u.path(ext))
	}
	ctx, cancel := context.WithTimeout(b.Context(), pageActionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(windowWidth, windowHeight)); err != nil {
		t.Fatal(err)
	}
	return u
}

func (u *demoUser) path(ext string) string {
	root, _ := testbed.RepoRoot()
	return filepath.Join(root, "interop", "artifacts", u.art+ext)
}

// do runs actions in the user's tab, bounded by pageActionTimeout.
func (u *demoUser) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(u.b.Context(), pageActionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		u.fail(t, u.probe(), "%s: %s: %v", u.name, what, err)
	}
}

// probe reads the page's state; nil when it cannot.
func (u *demoUser) probe() *demoState {
	ctx, cancel := context.WithTimeout(u.b.Context(), pageActionTimeout)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string](demoProbe))
	if err != nil {
		return nil
	}
	var s demoState
	if json.Unmarshal([]byte(raw), &s) != nil {
		return nil
	}
	return &s
}

// waitFor polls the page until ok holds, and returns that state.
func (u *demoUser) waitFor(t *testing.T, what string, ok func(*demoState) bool) *demoState {
	t.Helper()
	deadline := time.Now().Add(demoWaitTimeout)
	var last *demoState
	for {
		if s := u.probe(); s != nil {
			last = s
			if ok(s) {
				return s
			}
		}
		if time.Now().After(deadline) {
			u.fail(t, last, "%s's page did not show %s within %v", u.name, what, demoWaitTimeout)
		}
		time.Sleep(probeInterval)
	}
}

// screenshot saves the page as it is now as interop/artifacts/NAME.png.
func (u *demoUser) screenshot(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(u.b.Context(), pageActionTimeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Errorf("%s: screenshot: %v", u.name, err)
		return
	}
	root, err := testbed.RepoRoot()
	if err == nil {
		err = os.WriteFile(filepath.Join(root, "interop", "artifacts", name+".png"), png, 0o644)
	}
	if err != nil {
		t.Error(err)
	}
}

// save writes the screenshot and the console (with the page's last state)
// to interop/artifacts/, and returns the console.
func (u *demoUser) save(t *testing.T, state *demoState) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(u.b.Context(), pageActionTimeout)
	defer cancel()
	// Two frames, so the picture is the page as drawn.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](
		`new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`,
		chromedp.EvalAwaitPromise)); err != nil {
		t.Logf("waiting for the page to be drawn: %v", err)
	}
	if png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot()); err != nil {
		t.Errorf("%s: screenshot: %v", u.name, err)
	} else if err := os.WriteFile(u.path(".png"), png, 0o644); err != nil {
		t.Error(err)
	}
	console := u.b.Console()
	text := strings.Join(console, "\n") + "\n"
	if state != nil {
		j, _ := json.MarshalIndent(state, "", "  ")
		text += "--- last state of the page\n" + string(j) + "\n"
	}
	if out := u.b.Output(); out != "" {
		text += "--- Chromium's output\n" + out
	}
	if err := os.WriteFile(u.path(".console.log"), []byte(text), 0o644); err != nil {
		t.Error(err)
	}
	return console
}

// fail saves the artifacts and ends the test with the reason, the page's
// state and the end of its console.
func (u *demoUser) fail(t *testing.T, state *demoState, format string, args ...any) {
	t.Helper()
	console := u.save(t, state)
	msg := fmt.Sprintf(format, args...)
	if state != nil {
		j, _ := json.Marshal(state)
		msg += "\npage state: " + string(j)
	}
	msg += fmt.Sprintf("\n--- page console (%s):\n%s", u.path(".console.log"), tail(console, 60))
	msg += "\n--- screenshot: " + u.path(".png")
	t.Fatal(msg)
}

// subscribeEachOther gives users a and b a mutual presence subscription
// (RFC 6121 §3): a asks, b approves and asks back, a approves. Each step
// is followed by a roster get on the same stream, whose answer shows that
// the server has handled the step, before the other user takes the next.
func subscribeEachOther(t *testing.T, p *testbed.Server, a, b string) {
	t.Helper()
	ja, jb := a+"@"+p.Domain, b+"@"+p.Domain
	ca := setupLogin(t, p, a)
	cb := setupLogin(t, p, b)
	ca.roundTrip(fmt.Sprintf(`<iq type='set' id='name-b'><query xmlns='jabber:iq:roster'><item jid='%s' name='%s'/></query></iq>`, jb, strings.ToUpper(b[:1])+b[1:]),
		fmt.Sprintf(`<presence type='subscribe' to='%s'/>`, jb))
	cb.roundTrip(fmt.Sprintf(`<iq type='set' id='name-a'><query xmlns='jabber:iq:roster'><item jid='%s' name='%s'/></query></iq>`, ja, strings.ToUpper(a[:1])+a[1:]),
		fmt.Sprintf(`<presence type='subscribed' to='%s'/>`, ja),
		fmt.Sprintf(`<presence type='subscribe' to='%s'/>`, ja))
	ca.roundTrip(fmt.Sprintf(`<presence type='subscribed' to='%s'/>`, jb))
	for _, c := range []struct {
		conn *setupConn
		peer string
	}{{ca, jb}, {cb, ja}} {
		c.conn.roundTrip() // the roster as it is now
		if sub := c.conn.subscription(c.peer); sub != "both" {
			t.Fatalf("roster setup: %s's subscription with %s is %q, want both", c.conn.user, c.peer, sub)
		}
	}
	ca.close()
	cb.close()
}

// setupConn is a plain XMPP stream of one user, for preparing the server.
type setupConn struct {
	t      *testing.T
	user   string
	c      *xmppclient.Conn
	cancel context.CancelFunc
	n      int
	roster []byte // the last roster result
}

func setupLogin(t *testing.T, p *testbed.Server, user string) *setupConn {
	t.Helper()
	tlsCfg, err := p.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), rosterSetupTimeout)
	c, err := xmppclient.Login(ctx, xmppclient.Config{Domain: p.Domain, Addr: p.C2SAddr, TLS: tlsCfg},
		xmppclient.Credentials{Username: user, Password: testbed.Password})
	if err != nil {
		cancel()
		t.Fatalf("roster setup: log in as %s: %v", user, err)
	}
	// Next blocks on the socket: closing the stream ends it at the deadline.
	stop := context.AfterFunc(ctx, func() { c.Close() })
	s := &setupConn{t: t, user: user, c: c, cancel: func() { stop(); cancel() }}
	t.Cleanup(func() { s.cancel(); c.Close() })
	return s
}

// roundTrip writes stanzas, then a roster get, and waits for its result.
func (s *setupConn) roundTrip(stanzas ...string) {
	s.t.Helper()
	s.n++
	id := fmt.Sprintf("sync-%d", s.n)
	stanzas = append(stanzas, fmt.Sprintf(`<iq type='get' id='%s'><query xmlns='jabber:iq:roster'/></iq>`, id))
	for _, st := range stanzas {
		if err := s.c.Write([]byte(st)); err != nil {
			s.t.Fatalf("roster setup (%s): %v", s.user, err)
		}
	}
	for {
		ev, err := s.c.Next()
		if err != nil {
			s.t.Fatalf("roster setup (%s): waiting for %s: %v", s.user, id, err)
		}
		if ev.Kind == xmppclient.EventEnd {
			s.t.Fatalf("roster setup (%s): the server closed the stream", s.user)
		}
		if ev.Kind != xmppclient.EventElement {
			continue
		}
		var iq struct {
			XMLName xml.Name
			ID      string `xml:"id,attr"`
			Type    string `xml:"type,attr"`
		}
		if xml.Unmarshal(ev.Data, &iq) != nil || iq.XMLName.Local != "iq" || iq.ID != id {
			continue // roster pushes, presence, the answers to the sets
		}
		if iq.Type != "result" {
			s.t.Fatalf("roster setup (%s): %s", s.user, ev.Data)
		}
		s.roster = append(s.roster[:0], ev.Data...)
		return
	}
}

// subscription returns the subscription of jid in the user's roster, as
// the last roundTrip saw it.
func (s *setupConn) subscription(jid string) string {
	var res struct {
		Items []struct {
			JID          string `xml:"jid,attr"`
			Subscription string `xml:"subscription,attr"`
		} `xml:"query>item"`
	}
	if err := xml.Unmarshal(s.roster, &res); err != nil {
		s.t.Fatalf("roster setup (%s): %v: %s", s.user, err, s.roster)
	}
	for _, it := range res.Items {
		if it.JID == jid {
			return it.Subscription
		}
	}
	return "none"
}

// close closes the stream as a client should, and waits for the server's end.
func (s *setupConn) close() {
	if err := s.c.CloseStream(); err == nil {
		for {
			ev, err := s.c.Next()
			if err != nil || ev.Kind == xmppclient.EventEnd {
				break
			}
		}
	}
	s.cancel()
	s.c.Close()
}
