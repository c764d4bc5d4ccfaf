//go:build integration

package main

import (
	"encoding/base64"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xmppbridge/xmppbridge/internal/testbed"
	"github.com/xmppbridge/xmppbridge/internal/testpeer"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

// TestDaemonServerFaults: a third party makes Prosody relay stanzas that
// are not namespace-well-formed to a user of the daemon's XML transports —
// offline, in presence, in messages — and the user gets them repaired and
// keeps the session, over WebSocket and BOSH. (The JSON transports: the
// same scenario in jsonapi's TestServerFaults.)
func TestDaemonServerFaults(t *testing.T) {
	p := testbed.Start(t)
	wsURL, _ := startDaemon(t, p)
	for _, transport := range []string{"websocket", "bosh"} {
		t.Run(transport, func(t *testing.T) {
			sender, receiver := "sender"+transport, "receiver"+transport
			p.AddUser(t, sender, testbed.Password)
			p.AddUser(t, receiver, testbed.Password)
			p.Friends(t, sender, receiver)
			testpeer.Poison(t, p, sender, receiver, func() *testpeer.Receiver {
				if transport == "bosh" {
					return boshReceiver(t, boshURLOf(wsURL), receiver)
				}
				return wsReceiver(t, wsURL, receiver)
			})
		})
	}
}

func saslPlain(user string) string {
	return `<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">` +
		base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+testbed.Password)) + `</auth>`
}

const bindFaults = `<iq xmlns="jabber:client" type="set" id="b1"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>faults</resource></bind></iq>`

// wsLogin logs user in over the daemon's WebSocket by hand, enabling
// stream management if sm.
func wsLogin(t *testing.T, url, user string, sm bool) *wsClient {
	c := dialWS(t, url)
	c.send(openLocalhost)
	c.until("<stream:features")
	c.send(saslPlain(user))
	c.until("<success")
	c.send(openLocalhost)
	c.until("urn:ietf:params:xml:ns:xmpp-bind")
	c.send(bindFaults)
	c.until("</jid>")
	if sm {
		c.send(`<enable xmlns="urn:xmpp:sm:3"/>`)
		c.until("<enabled")
	}
	return c
}

// wsReceiver is a user of the daemon's WebSocket for a testpeer scenario.
func wsReceiver(t *testing.T, url, user string) *testpeer.Receiver {
	c := wsLogin(t, url, user, false)
	return &testpeer.Receiver{
		Send: func(x, _ string) { c.send(x) },
		Next: func() (string, bool) {
			m, ok := c.next(testpeer.Timeout)
			if strings.HasPrefix(m, "<close") || strings.Contains(m, "<stream:error") {
				t.Fatalf("the session ended: %s", m)
			}
			return m, ok
		},
	}
}

// boshReceiver logs user in over the daemon's BOSH endpoint by hand, then
// keeps requests going as Strophe.js does with hold='1': one held while
// idle, a second for a stanza to send, and a new empty one only when none
// is open.
func boshReceiver(t *testing.T, url, user string) *testpeer.Receiver {
	c := &boshClient{t: t, url: url, rid: 7000}
	r := c.post("to='localhost' ver='1.6' wait='10' hold='1' xml:lang='en' xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0'", "")
	m := sidAttr.FindStringSubmatch(r)
	if m == nil {
		t.Fatalf("creation response %s", r)
	}
	c.sid = m[1]
	c.until("", saslPlain(user), "<success")
	c.until("to='localhost' xml:lang='en' xmpp:restart='true' xmlns:xmpp='urn:xmpp:xbosh'", "", "urn:ietf:params:xml:ns:xmpp-bind")
	c.until("", bindFaults, "</jid>")

	type result struct {
		body string
		err  error
	}
	sends := make(chan string)
	results := make(chan result)
	stanzas := make(chan string, 256)
	ended := make(chan struct{})
	stop := make(chan struct{})
	done := make(chan struct{})
	post := func(kids string) {
		c.rid++
		rid := c.rid
		go func() {
			body, err := c.postAt(rid, "", kids)
			results <- result{body, err}
		}()
	}
	go func() {
		defer close(done)
		var queue []string
		open := 0
		for {
			for open < 2 && len(queue) > 0 {
				post(queue[0])
				queue, open = queue[1:], open+1
			}
			if open == 0 {
				post("")
				open++
			}
			select {
			case x := <-sends:
				queue = append(queue, x)
			case res := <-results:
				open--
				if res.err != nil || strings.Contains(res.body, "type='terminate'") {
					select {
					case <-stop:
					default:
						t.Errorf("the session ended: %s %v", res.body, res.err)
						close(ended)
					}
					return
				}
				el, err := xmlsplit.Parse([]byte(res.body), xmlsplit.ParseOptions{Children: true})
				if err != nil {
					t.Errorf("response %s: %v", res.body, err)
				}
				for _, ch := range el.Children {
					stanzas <- string(ch.Raw)
				}
			case <-stop:
				c.rid++
				go c.postAt(c.rid, "type='terminate'", "<presence type='unavailable' xmlns='jabber:client'/>")
				for ; open > 0; open-- {
					<-results
				}
				return
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
	})
	return &testpeer.Receiver{
		Send: func(x, _ string) {
			select {
			case sends <- x:
			case <-ended:
				t.Fatal("the session ended")
			}
		},
		Next: func() (string, bool) {
			select {
			case s := <-stanzas:
				return s, true
			case <-ended:
				t.Fatal("the session ended")
			case <-time.After(testpeer.Timeout):
			}
			return "", false
		},
	}
}

// TestDaemonKeepalive: the bridge asks an idle server for signs of life
// without the browser seeing the questions or their answers — XEP-0199
// pings, and <r/> once the browser has stream management, without
// upsetting its counts — and a server that stops answering (SIGSTOP) ends
// the session with remote-connection-failed, within 2 × keepalive +
// keepalive_timeout.
func TestDaemonKeepalive(t *testing.T) {
	p := testbed.Start(t)
	wsURL, _ := startDaemon(t, p, "[upstream]\nkeepalive = \"1s\"\nkeepalive_timeout = \"1s\"")

	t.Run("ping", func(t *testing.T) {
		c := wsLogin(t, wsURL, "alice", false)
		c.send(`<iq xmlns="jabber:client" type="get" id="mine"><ping xmlns="urn:xmpp:ping"/></iq>`)
		c.until("id='mine'")
		c.quiet(5 * time.Second)
		c.send(`<iq xmlns="jabber:client" type="get" id="still"><ping xmlns="urn:xmpp:ping"/></iq>`)
		c.until("id='still'")
	})

	t.Run("stream management", func(t *testing.T) {
		c := wsLogin(t, wsURL, "bob", true)
		c.quiet(5 * time.Second)
		// The server counted nothing the browser did not send: asked, it
		// acknowledges exactly the browser's one stanza.
		c.send(`<iq xmlns="jabber:client" type="get" id="p1"><ping xmlns="urn:xmpp:ping"/></iq>`)
		c.until("id='p1'")
		c.send(`<r xmlns="urn:xmpp:sm:3"/>`)
		if a := c.until("<a "); !strings.Contains(a, "h='1'") {
			t.Fatalf("the browser's <r/> answered %s, want h='1'", a)
		}
		c.quiet(3 * time.Second)
	})

	t.Run("hung server", func(t *testing.T) {
		c := wsLogin(t, wsURL, "carol", false)
		proc, err := os.FindProcess(p.PID)
		if err != nil {
			t.Fatal(err)
		}
		if err := proc.Signal(syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { proc.Signal(syscall.SIGCONT) })
		start := time.Now()
		c.until("<remote-connection-failed ")
		if code := c.closeCode(); code != websocket.CloseInternalServerErr {
			t.Fatalf("close code %d, want 1011", code)
		}
		t.Logf("a hung server noticed after %v", time.Since(start).Round(100*time.Millisecond))
	})
}

// TestDaemonPlaintextToTLSServer: security = "plaintext" in front of a
// Prosody that requires STARTTLS cannot work, and every transport says so
// as remote-connection-failed: not empty features (a browser's client
// would hang or blame "no-auth-mech") and not a wrong password.
func TestDaemonPlaintextToTLSServer(t *testing.T) {
	p := testbed.StartWith(t, testbed.Options{RequireTLS: true})
	cfg := fmt.Sprintf("allow_any_domain = false\n[domain.%q]\naddress = %q\nsecurity = \"plaintext\"\n", p.Domain, p.C2SAddr)
	base, _ := startDaemonConfig(t, cfg)

	t.Run("websocket", func(t *testing.T) {
		c := dialWS(t, "ws://"+base+"/xmpp-websocket")
		c.send(openLocalhost)
		c.until("<remote-connection-failed ")
		if code := c.closeCode(); code != websocket.CloseInternalServerErr {
			t.Fatalf("close code %d, want 1011", code)
		}
	})
	t.Run("bosh", func(t *testing.T) {
		c := &boshClient{t: t, url: "http://" + base + "/http-bind", rid: 100}
		r := c.post("to='localhost' ver='1.6' wait='10' hold='1' xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0'", "")
		for i := 0; i < 3 && !strings.Contains(r, "type='terminate'"); i++ {
			if m := sidAttr.FindStringSubmatch(r); m != nil {
				c.sid = m[1]
			}
			r = c.post("", "")
		}
		if !strings.Contains(r, "condition='remote-connection-failed'") {
			t.Fatalf("response %s, want remote-connection-failed", r)
		}
	})
	t.Run("json", func(t *testing.T) {
		c := dialWSWith(t, "ws://"+base+"/json/ws", "xmppbridge-json.v1")
		c.send(`{"kind":"login","jid":"alice@localhost","password":"secret"}`)
		if e := c.until(`"kind":"error"`); !strings.Contains(e, `"code":"remote-connection-failed"`) {
			t.Fatalf("login answered %s, want remote-connection-failed", e)
		}
	})
}
