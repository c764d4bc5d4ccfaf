//go:build integration

package interop

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/xmppbridge/xmppbridge/internal/testbed"
)

// demoReload: alice's page is reloaded, and left and come back to, while
// bob writes; each time it shows the chat again at once (no login form),
// as the same full JID, with every message once.
func demoReload(t *testing.T, page string, p *testbed.Server) {
	alice := startDemoUser(t, "alice", p, "reload")
	me := demoLoginWithBob(t, alice, page)
	bob := setupLogin(t, p, "bob")
	defer bob.close()
	want := []string{"Before the reload"}
	demoWrite(t, bob, me, want[0])
	alice.waitFor(t, "bob's first message", func(s *demoState) bool { return demoIncoming(s, want) })

	// A reload, with bob writing as it starts.
	want = append(want, "Sent as alice's page reloads")
	demoWrite(t, bob, me, want[1])
	alice.do(t, "reload", chromedp.Reload())
	demoCheckNoLoginForm(t, alice, me)
	s := alice.waitFor(t, "the session resumed after the reload, bob's message once", func(s *demoState) bool {
		return s.Status == "online" && demoIncoming(s, want)
	})
	if !strings.HasPrefix(s.StatusText, "Resumed") {
		alice.fail(t, s, "the status says %q after the reload, want Resumed", s.StatusText)
	}

	// Away to another page and back: bob writes meanwhile, and the server
	// has the message before alice's page is back.
	alice.do(t, "leave the page", chromedp.Navigate("about:blank"))
	want = append(want, "Sent while alice's page was away")
	demoWrite(t, bob, me, want[2])
	alice.do(t, "come back", chromedp.Navigate(page))
	demoCheckNoLoginForm(t, alice, me)
	alice.waitFor(t, "bob's message once, after coming back", func(s *demoState) bool {
		return s.Status == "online" && demoIncoming(s, want)
	})

	// alice's answer reaches bob's stream: the resumed session sends.
	alice.do(t, "answer", chromedp.SendKeys(chromedp.CSS("#message-input"), "Still here"), enterKey)
	alice.waitFor(t, "the answer delivered", func(s *demoState) bool {
		return len(s.Outgoing) == 1 && s.Outgoing[0].Text == "Still here"
	})
	time.Sleep(500 * time.Millisecond) // room for a duplicate to show
	if s := alice.probe(); s == nil || !demoIncoming(s, want) || s.Me != me {
		alice.fail(t, s, "after the reloads: a message came twice or went, or the JID changed (was %s)", me)
	}
	alice.save(t, nil)
}

// demoNetworkCut: a proxy between alice's browser and the bridge closes
// every connection and refuses new ones for some seconds, while bob
// writes; the page says it is reconnecting, then that it resumed, and
// shows the message once.
func demoNetworkCut(t *testing.T, page, transport string, p *testbed.Server) {
	u, err := url.Parse(page)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startCutProxy(t, u.Host)
	proxied := proxy.URL(page) + "?transport=" + transport

	alice := startDemoUser(t, "alice", p, "cut-"+transport)
	me := demoLoginWithBob(t, alice, proxied)
	bob := setupLogin(t, p, "bob")
	defer bob.close()
	want := []string{"Before the cut over " + transport}
	demoWrite(t, bob, me, want[0])
	alice.waitFor(t, "bob's first message", func(s *demoState) bool { return demoIncoming(s, want) })

	proxy.Cut(time.Hour) // until it is lifted below
	alice.waitFor(t, "reconnecting", func(s *demoState) bool {
		return s.Status == "reconnecting" && strings.HasPrefix(s.StatusText, "Reconnecting")
	})
	want = append(want, "Sent during the cut over "+transport)
	demoWrite(t, bob, me, want[1])
	time.Sleep(3 * time.Second) // the cut lasts: the page tries and fails meanwhile
	proxy.Refuse(0)
	s := alice.waitFor(t, "resumed, bob's message once", func(s *demoState) bool {
		return s.Status == "online" && demoIncoming(s, want)
	})
	if !strings.HasPrefix(s.StatusText, "Resumed") || s.Me != me {
		alice.fail(t, s, "after the cut: status %q, JID %s (was %s); want Resumed and the same JID", s.StatusText, s.Me, me)
	}
	time.Sleep(500 * time.Millisecond) // room for a duplicate to show
	if s := alice.probe(); s == nil || !demoIncoming(s, want) {
		alice.fail(t, s, "after the cut: a message came twice, or went")
	}
	alice.save(t, nil)
}

// demoLoginWithBob logs u in through the form at page, opens the chat with
// bob, and returns the bound full JID.
func demoLoginWithBob(t *testing.T, u *demoUser, page string) string {
	t.Helper()
	u.do(t, "open the page and log in",
		chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.CSS("#login-form")),
		chromedp.SendKeys(chromedp.CSS("#jid"), u.jid),
		chromedp.SendKeys(chromedp.CSS("#password"), testbed.Password),
		chromedp.Click(chromedp.CSS("#login-button")),
	)
	s := u.waitFor(t, "logged in", func(s *demoState) bool { return s.View == "chat" && s.Status == "online" })
	bob := "bob@" + strings.SplitN(u.jid, "@", 2)[1]
	u.openChat(t, bob)
	if !strings.HasPrefix(s.Me, u.jid+"/") {
		u.fail(t, s, "the page shows the user as %q", s.Me)
	}
	if u.storesPassword(t) {
		u.fail(t, s, "the password is in the page's storage")
	}
	return s.Me
}

// storesPassword says whether the page's sessionStorage or localStorage
// holds the password anywhere.
func (u *demoUser) storesPassword(t *testing.T) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(u.b.Context(), pageActionTimeout)
	defer cancel()
	found, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(
		`[sessionStorage, localStorage].some((st) => Object.keys(st).some((k) => (k + st.getItem(k)).includes(%q)))`,
		testbed.Password)))
	if err != nil {
		u.fail(t, u.probe(), "read the storage: %v", err)
	}
	return found
}

// demoCheckNoLoginForm checks that the page just loaded shows the chat as
// the same JID, without the login form.
func demoCheckNoLoginForm(t *testing.T, u *demoUser, me string) {
	t.Helper()
	s := u.probe()
	if s == nil || s.View != "chat" || s.Me != me {
		u.fail(t, s, "after loading the page again: want the chat as %s at once, not the login form", me)
	}
}

// demoWrite sends a chat message from a plain XMPP stream to the full JID
// to, and waits until the server has dealt with it.
func demoWrite(t *testing.T, from *setupConn, to, body string) {
	t.Helper()
	from.roundTrip(fmt.Sprintf(`<message type='chat' to='%s' id='%s'><body>%s</body></message>`,
		to, fmt.Sprintf("m%d", time.Now().UnixNano()), body))
}

func demoIncoming(s *demoState, want []string) bool {
	return strings.Join(s.Incoming, "\x00") == strings.Join(want, "\x00")
}

// demoTabs: two tabs of one browser share alice's session: the second
// shows the chat without a login, as the same full JID (one upstream
// resource, one connection, held by the first tab); a message from bob
// shows in both, and one sent from either shows in both. Closing the tab
// that holds the connection leaves the other working: it resumes the
// session, and a message bob sends meanwhile shows once.
func demoTabs(t *testing.T, page string, p *testbed.Server) {
	main := startDemoUser(t, "alice", p, "tabs")
	tab1 := main.newTab(t, "tab1")
	tab2 := main.newTab(t, "tab2")
	me := demoLoginWithBob(t, tab1, page)
	bob := setupLogin(t, p, "bob")
	defer bob.close()

	tab2.do(t, "open the page in a second tab", chromedp.Navigate(page))
	s := tab2.waitFor(t, "the shared session", func(s *demoState) bool {
		return s.View == "chat" && s.Status == "online" && s.Me == me
	})
	if tab1.leader(t) == tab2.leader(t) || !tab1.leader(t) {
		tab2.fail(t, s, "want the first tab to hold the connection and the second to follow")
	}
	tab2.openChat(t, "bob@"+p.Domain)

	want := []string{"To both tabs"}
	demoWrite(t, bob, me, want[0])
	for _, u := range []*demoUser{tab1, tab2} {
		u.waitFor(t, "bob's message", func(s *demoState) bool { return demoIncoming(s, want) })
	}
	tab2.do(t, "write from the second tab", chromedp.SendKeys(chromedp.CSS("#message-input"), "From the second tab"), enterKey)
	for _, u := range []*demoUser{tab1, tab2} {
		u.waitFor(t, "the second tab's message", func(s *demoState) bool {
			return len(s.Outgoing) == 1 && s.Outgoing[0].Text == "From the second tab"
		})
	}

	// The leader tab closes; bob writes as it goes.
	tab1.b.cancel()
	want = append(want, "Sent as the first tab closed")
	demoWrite(t, bob, me, want[1])
	s = tab2.waitFor(t, "the session resumed by the second tab, bob's message once", func(s *demoState) bool {
		return s.Status == "online" && demoIncoming(s, want)
	})
	if !tab2.leader(t) || s.Me != me || !strings.HasPrefix(s.StatusText, "Resumed") {
		tab2.fail(t, s, "after the first tab closed: want the second to hold the session as %s, Resumed", me)
	}
	tab2.do(t, "write after the handover", chromedp.SendKeys(chromedp.CSS("#message-input"), "Still here"), enterKey)
	tab2.waitFor(t, "the message sent", func(s *demoState) bool { return len(s.Outgoing) == 2 })
	time.Sleep(500 * time.Millisecond) // room for a duplicate to show
	if s := tab2.probe(); s == nil || !demoIncoming(s, want) {
		tab2.fail(t, s, "after the handover: a message came twice, or went")
	}
	tab2.save(t, nil)
}

// newTab opens another tab in u's browser, closed when the test ends.
func (u *demoUser) newTab(t *testing.T, name string) *demoUser {
	t.Helper()
	ctx, cancel := chromedp.NewContext(u.b.Context())
	t.Cleanup(cancel)
	done := make(chan struct{})
	close(done)
	tab := &demoUser{
		name: u.name + "-" + name,
		jid:  u.jid,
		b:    &Browser{ctx: ctx, cancel: cancel, allocCancel: func() {}, consoleDone: done},
		art:  u.art + "-" + name,
	}
	// The first action opens the tab and binds its life to the context it
	// runs on, so it runs on ctx itself; a timer bounds it.
	timer := time.AfterFunc(pageActionTimeout, cancel)
	err := chromedp.Do(ctx, chromedp.EmulateViewport(windowWidth, windowHeight))
	if !timer.Stop() || err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return tab
}

// leader says whether the tab's page holds the shared connection.
func (u *demoUser) leader(t *testing.T) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(u.b.Context(), pageActionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.xmppbridgeDemo.client?.leader === true`))
	if err != nil {
		u.fail(t, u.probe(), "read the page's client: %v", err)
	}
	return v
}

// openChat opens the chat with jid from the roster. The roster is drawn
// again as presence comes in, so the click is one step in the page, not a
// node found first and clicked after.
func (u *demoUser) openChat(t *testing.T, jid string) {
	t.Helper()
	u.waitFor(t, jid+" in the roster", func(s *demoState) bool { return s.contact(jid) != nil })
	ctx, cancel := context.WithTimeout(u.b.Context(), pageActionTimeout)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(
		`(() => { document.querySelector(%q).click(); return true; })()`,
		fmt.Sprintf("#roster [data-contact=%q]", jid)))); err != nil {
		u.fail(t, u.probe(), "open the chat with %s: %v", jid, err)
	}
	u.waitFor(t, "the chat with "+jid+" open", func(s *demoState) bool { return s.Chat == jid })
}
