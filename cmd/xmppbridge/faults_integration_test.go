//go:build integration

package main

import (
	"encoding/base64"
	"net"
	"strings"
	"testing"
	"time"

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

// wsReceiver logs user in over the daemon's WebSocket by hand.
func wsReceiver(t *testing.T, url, user string) *testpeer.Receiver {
	c := dialWS(t, url)
	c.send(openLocalhost)
	c.until("<stream:features")
	c.send(saslPlain(user))
	c.until("<success")
	c.send(openLocalhost)
	c.until("urn:ietf:params:xml:ns:xmpp-bind")
	c.send(bindFaults)
	c.until("</jid>")
	return &testpeer.Receiver{
		Send: func(x, _ string) { c.send(x) },
		Next: func() (string, bool) {
			c.ws.SetReadDeadline(time.Now().Add(testpeer.Timeout))
			_, b, err := c.ws.ReadMessage()
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return "", false
			}
			if err != nil || strings.HasPrefix(string(b), "<close") || strings.Contains(string(b), "<stream:error") {
				t.Fatalf("the session ended: %s %v", b, err)
			}
			return string(b), true
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
