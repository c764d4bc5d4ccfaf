//go:build integration

package main

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/netbed"
)

// boshLogin opens a BOSH session at url for user@domain, logs in with
// PLAIN and binds resource; before binding, with sm, it enables XEP-0198
// stream management with resumption and returns the stream's id.
func boshLogin(t *testing.T, url, user, domain, resource string, rid uint64) *boshClient {
	t.Helper()
	c := &boshClient{t: t, url: url, rid: rid}
	r := c.post(fmt.Sprintf("to='%s' ver='1.6' wait='5' hold='1' xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0'", domain), "")
	m := sidAttr.FindStringSubmatch(r)
	if m == nil {
		t.Fatalf("BOSH creation at %s: %s", url, r)
	}
	c.sid = m[1]
	c.auth(user)
	c.until(fmt.Sprintf("to='%s' xmpp:restart='true' xmlns:xmpp='urn:xmpp:xbosh'", domain), "", "urn:ietf:params:xml:ns:xmpp-bind")
	c.until("", fmt.Sprintf(`<iq type="set" id="b1" xmlns="jabber:client"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>%s</resource></bind></iq>`, resource), user+"@"+domain+"/"+resource)
	return c
}

// auth logs the session in as user with PLAIN.
func (c *boshClient) auth(user string) {
	c.t.Helper()
	auth := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00secret"))
	c.until("", `<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">`+auth+`</auth>`, "<success")
}

// TestNetnsFederation: users of a.test and b.test (Prosody) and c.test
// (ejabberd), on three boxes each with its own server and bridge, chat
// across the boxes over s2s (with certificates of the testbed's CA): alice
// over JSON long-poll and carol over BOSH through the balancer in front of
// a.test's two bridges; bob over a JSON WebSocket and carol@b.test over
// RFC 7395 on b.test's bridge; bob@c.test over JSON events on c.test's.
func TestNetnsFederation(t *testing.T) {
	tb := netbed.Start(t)

	bob := dialWSWith(t, strings.Replace(tb.B1URL, "http://", "ws://", 1)+"/json/ws", "xmppbridge-json.v1")
	bob.send(`{"kind":"login","jid":"bob@b.test","password":"secret","resource":"ws","id":"l1"}`)
	bob.until(`"jid":"bob@b.test/ws"`)

	alice := &jsonHTTP{t: t, bases: []string{tb.BalancerURL + "/json"}, poll: true, rid: 10}
	alice.login("alice", "a.test", "poll")
	alice.pollUntil(`"presence"`, `{"kind":"presence"}`)
	if a, err := alice.post(`{"kind":"message","to":"bob@b.test/ws","type":"chat","body":"from a.test over long-poll"}`); err != nil || a.Status != 200 {
		t.Fatalf("alice's post: %+v %v", a, err)
	}
	bob.until("from a.test over long-poll")
	bob.send(`{"kind":"message","to":"alice@a.test/poll","type":"chat","body":"from b.test over a JSON WebSocket"}`)
	alice.pollUntil("from b.test over a JSON WebSocket")

	carol := boshLogin(t, tb.BalancerURL+"/http-bind", "carol", "a.test", "bosh", 500)
	carol.post("", `<message to='bob@b.test/ws' type='chat' xmlns='jabber:client'><body>from a.test over BOSH</body></message>`)
	bob.until("from a.test over BOSH")
	bob.send(`{"kind":"message","to":"carol@a.test/bosh","type":"chat","body":"to BOSH on a.test"}`)
	carol.until("", "", "to BOSH on a.test")

	// RFC 7395 on b.test's bridge, to a.test.
	xml := dialWS(t, strings.Replace(tb.B1URL, "http://", "ws://", 1)+"/xmpp-websocket")
	xml.send(`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="b.test" version="1.0"/>`)
	xml.until("PLAIN")
	xml.send(`<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">` + base64.StdEncoding.EncodeToString([]byte("\x00carol\x00secret")) + `</auth>`)
	xml.until("<success")
	xml.send(`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="b.test" version="1.0"/>`)
	xml.until("urn:ietf:params:xml:ns:xmpp-bind")
	xml.send(`<iq type="set" id="b1" xmlns="jabber:client"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>xml</resource></bind></iq>`)
	xml.until("carol@b.test/xml")
	xml.send(`<message to="alice@a.test/poll" type="chat" xmlns="jabber:client"><body>from b.test over RFC 7395</body></message>`)
	alice.pollUntil("from b.test over RFC 7395")

	// ejabberd's c.test, over JSON events on its own box's bridge.
	cb := &jsonHTTP{t: t, bases: []string{tb.C1URL + "/json"}, rid: 40}
	cb.login("bob", "c.test", "sse")
	stream := cb.events()
	if a, err := cb.post(`{"kind":"message","to":"alice@a.test/poll","type":"chat","body":"from c.test over events"}`); err != nil || a.Status != 200 {
		t.Fatalf("c.test post: %+v %v", a, err)
	}
	alice.pollUntil("from c.test over events")
	if a, err := alice.post(`{"kind":"message","to":"bob@c.test/sse","type":"chat","body":"from a.test to ejabberd"}`); err != nil || a.Status != 200 {
		t.Fatalf("alice's post: %+v %v", a, err)
	}
	stream.until(t, "from a.test to ejabberd")
	xml.send(`<message to="bob@c.test/sse" type="chat" xmlns="jabber:client"><body>from b.test to ejabberd</body></message>`)
	stream.until(t, "from b.test to ejabberd")
	if a, err := cb.post(`{"kind":"message","to":"carol@b.test/xml","type":"chat","body":"from ejabberd to b.test"}`); err != nil || a.Status != 200 {
		t.Fatalf("c.test post: %+v %v", a, err)
	}
	xml.until("from ejabberd to b.test")
}

var smID = regexp.MustCompile(`<enabled [^>]*id=['"]([^'"]+)['"]`)

// TestNetnsRoundRobin: HAProxy, and nginx, each with the example
// configuration shipped, send every request to a1 and a2 in turn, and BOSH, JSON long-poll and JSON events sessions all work, their
// requests forwarded to the bridge that holds them. Then the bridge that
// holds the BOSH session is killed (SIGKILL): the BOSH client and a JSON
// client of that bridge get item-not-found in their transport's words,
// and the BOSH client resumes its stream (XEP-0198) through the other
// bridge, receiving what was sent to it meanwhile.
func TestNetnsRoundRobin(t *testing.T) {
	for _, balancer := range []string{"haproxy", "nginx"} {
		t.Run(balancer, func(t *testing.T) {
			tb := netbed.Start(t)
			lb := tb.BalancerURL
			if balancer == "nginx" {
				lb = tb.NginxURL
			}
			roundRobin(t, tb, lb)
		})
	}
}

func roundRobin(t *testing.T, tb *netbed.Testbed, lb string) {

	carol := boshLogin(t, lb+"/http-bind", "carol", "a.test", "bosh", 1000)
	r := carol.until("", `<enable xmlns="urn:xmpp:sm:3" resume="true"/>`, "<enabled")
	m := smID.FindStringSubmatch(r)
	if m == nil {
		t.Fatalf("no stream id to resume in %s", r)
	}
	previd := m[1]
	owner := strings.SplitN(carol.sid, ".", 2)[0]

	poll := &jsonHTTP{t: t, bases: []string{lb + "/json"}, poll: true, rid: 10}
	poll.login("alice", "a.test", "poll")
	poll.pollUntil(`"presence"`, `{"kind":"presence"}`)
	ev := &jsonHTTP{t: t, bases: []string{lb + "/json"}, rid: 20}
	ev.login("bob", "a.test", "sse")
	stream := ev.events()

	// Each to each, every request through the balancer.
	for i := range 3 {
		body := fmt.Sprintf("round %d", i)
		if a, err := poll.post(`{"kind":"message","to":"bob@a.test/sse","type":"chat","body":"long-poll ` + body + `"}`); err != nil || a.Status != 200 {
			t.Fatalf("long-poll post: %+v %v", a, err)
		}
		stream.until(t, "long-poll "+body)
		if a, err := ev.post(`{"kind":"message","to":"carol@a.test/bosh","type":"chat","body":"events ` + body + `"}`); err != nil || a.Status != 200 {
			t.Fatalf("events post: %+v %v", a, err)
		}
		carol.until("", "", "events "+body)
		carol.post("", `<message to='alice@a.test/poll' type='chat' xmlns='jabber:client'><body>BOSH `+body+`</body></message>`)
		poll.pollUntil("BOSH " + body)
	}
	logs := tb.Log("a1") + tb.Log("a2")
	if !strings.Contains(logs, "cluster: forwarded") {
		t.Fatalf("no request was forwarded: the balancer did not spread the requests")
	}

	// The owner of the BOSH session dies.
	if err := tb.Kill(owner); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	if r, err := carol.postAt(carol.rid+1, "", ""); err != nil || !strings.Contains(r, "type='terminate'") || !strings.Contains(r, "condition='item-not-found'") {
		t.Fatalf("BOSH request after %s died: %q %v; want item-not-found", owner, r, err)
	}
	told := time.Since(killed)
	for _, c := range []*jsonHTTP{poll, ev} {
		if strings.HasPrefix(c.sid, owner+".") {
			if a, err := c.post(); err != nil || a.Status != 404 || a.Code != "item-not-found" {
				t.Errorf("JSON request of %s's session after it died: %+v %v; want 404 item-not-found", owner, a, err)
			}
		}
	}

	// Meanwhile alice writes to carol, whose stream Prosody keeps.
	if strings.HasPrefix(poll.sid, owner+".") {
		poll = &jsonHTTP{t: t, bases: []string{lb + "/json"}, poll: true, rid: 5000}
		poll.login("alice", "a.test", "poll2")
	}
	if a, err := poll.post(`{"kind":"message","to":"carol@a.test/bosh","type":"chat","body":"while the box was down"}`); err != nil || a.Status != 200 {
		t.Fatalf("long-poll post: %+v %v", a, err)
	}

	// carol comes back through the balancer, now to the survivor, and
	// resumes her stream: the message is there.
	back := time.Now()
	again := &boshClient{t: t, url: lb + "/http-bind", rid: 9000}
	r = again.post("to='a.test' ver='1.6' wait='5' hold='1' xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0'", "")
	if m := sidAttr.FindStringSubmatch(r); m == nil || strings.HasPrefix(m[1], owner+".") {
		t.Fatalf("new BOSH session: %s", r)
	} else {
		again.sid = m[1]
	}
	again.auth("carol")
	again.until("to='a.test' xmpp:restart='true' xmlns:xmpp='urn:xmpp:xbosh'", "", "urn:xmpp:sm:3")
	r = again.until("", fmt.Sprintf(`<resume xmlns="urn:xmpp:sm:3" previd="%s" h="3"/>`, previd), "<resumed")
	if !strings.Contains(r, "while the box was down") {
		again.until("", "", "while the box was down")
	}
	// For the record (BENCHMARKS.md), not asserted: one client, told by
	// its first request after the kill; then, coming back, resumed through
	// the other node with a fresh BOSH session, SASL and the XEP-0198
	// resume.
	t.Logf("%s killed: BOSH item-not-found after %v; new session to resumed stream %v", owner, told.Round(time.Millisecond), time.Since(back).Round(time.Millisecond))
}

// TestNetnsLinkCut: the box of a2 loses its link, so that nothing is
// refused and packets to it go nowhere. A BOSH and a JSON long-poll
// session of a2, asked through HAProxy or nginx on one kept client
// connection (their example configurations make a new connection to a
// bridge for every request), still get item-not-found in their
// transport's words, within the forwarding node's dial timeout and the
// balancer's retry, never a hang (the clients give up after 90 s).
func TestNetnsLinkCut(t *testing.T) {
	for _, balancer := range []string{"haproxy", "nginx"} {
		t.Run(balancer, func(t *testing.T) {
			tb := netbed.Start(t)
			lb := tb.BalancerURL
			if balancer == "nginx" {
				lb = tb.NginxURL
			}
			linkCut(t, tb, lb)
		})
	}
}

func linkCut(t *testing.T, tb *netbed.Testbed, lb string) {
	var bosh *boshClient
	for i := range 8 {
		c := &boshClient{t: t, url: lb + "/http-bind", rid: uint64(100 * (i + 1))}
		r := c.post("to='a.test' ver='1.6' wait='5' hold='1' xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0'", "")
		if m := sidAttr.FindStringSubmatch(r); m != nil && strings.HasPrefix(m[1], "a2.") {
			c.sid = m[1]
			bosh = c
			break
		}
	}
	var poll *jsonHTTP
	for i := range 8 {
		c := &jsonHTTP{t: t, bases: []string{lb + "/json"}, poll: true, rid: uint64(1000 * (i + 1))}
		c.login("alice", "a.test", fmt.Sprintf("cut%d", i))
		if strings.HasPrefix(c.sid, "a2.") {
			poll = c
			break
		}
	}
	if bosh == nil || poll == nil {
		t.Fatal("round-robin put no session on a2 in eight tries")
	}
	if err := tb.Cut("a2"); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	if r, err := bosh.postAt(bosh.rid+1, "", ""); err != nil || !strings.Contains(r, "condition='item-not-found'") {
		t.Fatalf("BOSH request of a2's session after its link was cut: %q %v; want item-not-found", r, err)
	}
	t.Logf("BOSH item-not-found %v after the cut", time.Since(cut).Round(time.Millisecond))
	cut = time.Now()
	if a, err := poll.post(); err != nil || a.Status != 404 || a.Code != "item-not-found" {
		t.Fatalf("long-poll request of a2's session after its link was cut: %+v %v; want 404 item-not-found", a, err)
	}
	t.Logf("JSON item-not-found %v after", time.Since(cut).Round(time.Millisecond))
}
