//go:build integration

package main

import (
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/xmppbridge/xmppbridge/internal/testbed"
)

// freeAddrs returns n loopback addresses nothing listens on, for daemons
// that must know each other's before they start.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var addrs []string
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, ln.Addr().String())
		ln.Close()
	}
	return addrs
}

// TestDaemonCluster runs two daemons as the nodes a1 and a2 of a cluster in
// front of one Prosody, and sends every request of each BOSH and JSON
// session to them in turn, as a round-robin balancer without sticky
// sessions would: each session works, its requests forwarded to the node
// that holds it. When that node is gone, its sessions' requests get their
// transport's item-not-found from the other.
func TestDaemonCluster(t *testing.T) {
	p := testbed.Start(t)
	addrs := freeAddrs(t, 2)
	peers := fmt.Sprintf("[cluster.peers]\na1 = \"http://%s\"\na2 = \"http://%s\"\n", addrs[0], addrs[1])
	stops := make([]func() error, 2)
	for i, name := range []string{"a1", "a2"} {
		cfg := fmt.Sprintf(`
log_level = "debug"
allow_any_domain = false
shutdown_timeout = "5s"

[domain.%q]
address = %q
security = "starttls"
ca_file = %q

[json]
resume_key = "a key the nodes share, 32 bytes or more"

[cluster]
node = %q
`, p.Domain, p.C2SAddr, p.CAFile, name) + peers
		_, stops[i] = startDaemonListen(t, cfg, addrs[i])
	}
	boshURLs := []string{"http://" + addrs[0] + "/http-bind", "http://" + addrs[1] + "/http-bind"}
	jsonBases := []string{"http://" + addrs[0] + "/json", "http://" + addrs[1] + "/json"}

	// BOSH: created on a1, every later request alternating.
	c := &boshClient{t: t, url: boshURLs[0], rid: 7000}
	r := c.post("to='localhost' ver='1.6' wait='3' hold='1' xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0'", "")
	m := sidAttr.FindStringSubmatch(r)
	if m == nil || !strings.HasPrefix(m[1], "a1.") {
		t.Fatalf("creation response %s: want a sid of a1", r)
	}
	c.sid = m[1]
	turn := 0
	next := func() { turn++; c.url = boshURLs[turn%2] }
	auth := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00" + testbed.Password))
	next()
	c.until("", `<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">`+auth+`</auth>`, "<success")
	next()
	c.until("to='localhost' xmpp:restart='true' xmlns:xmpp='urn:xmpp:xbosh'", "", "urn:ietf:params:xml:ns:xmpp-bind")
	next()
	c.until("", `<iq type="set" id="b1"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>cluster</resource></bind></iq>`, "alice@localhost/cluster")
	next()
	c.until("", `<presence/>`, "<presence")

	// JSON long-poll: logged in on a2, polled alternating; it hears
	// alice's BOSH message.
	lp := &jsonHTTP{t: t, bases: []string{jsonBases[1], jsonBases[0]}, poll: true, rid: 100}
	lp.login("bob", p.Domain, "poll")
	if !strings.HasPrefix(lp.sid, "a2.") {
		t.Fatalf("long-poll sid %q: want a2's", lp.sid)
	}
	lp.pollUntil(`"presence"`, `{"kind":"presence"}`)
	next()
	c.post("", `<message to='bob@localhost/poll' type='chat' xmlns='jabber:client'><body>over BOSH</body></message>`)
	lp.pollUntil("over BOSH")

	// JSON events: logged in on a1, the stream opened on a2 and posts
	// alternating; bob's long-poll message reaches carol's stream, and
	// carol's post reaches alice over BOSH.
	ev := &jsonHTTP{t: t, bases: jsonBases, rid: 300}
	ev.login("carol", p.Domain, "sse")
	if !strings.HasPrefix(ev.sid, "a1.") {
		t.Fatalf("events sid %q: want a1's", ev.sid)
	}
	stream := ev.events()
	if a, err := ev.post(`{"kind":"presence"}`); err != nil || a.Status != 200 {
		t.Fatalf("send: %+v %v", a, err)
	}
	stream.until(t, `"presence"`)
	if a, err := lp.post(`{"kind":"message","to":"carol@localhost/sse","type":"chat","body":"over long-poll"}`); err != nil || a.Status != 200 {
		t.Fatalf("poll: %+v %v", a, err)
	}
	stream.until(t, "over long-poll")
	if a, err := ev.post(`{"kind":"message","to":"alice@localhost/cluster","type":"chat","body":"over events"}`); err != nil || a.Status != 200 {
		t.Fatalf("send: %+v %v", a, err)
	}
	next()
	c.until("", "", "over events")

	// a2 goes: its sessions' requests, arriving at a1, get item-not-found
	// in their transport's words; a1's sessions go on.
	other := &boshClient{t: t, url: boshURLs[1], rid: 9000}
	r = other.post("to='localhost' ver='1.6' wait='3' hold='1' xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0'", "")
	other.sid = sidAttr.FindStringSubmatch(r)[1]
	if err := stops[1](); err != nil {
		t.Fatal(err)
	}
	other.url = boshURLs[0]
	if r := other.post("", ""); !strings.Contains(r, "type='terminate'") || !strings.Contains(r, "condition='item-not-found'") {
		t.Errorf("a2's BOSH session through a1 after a2 went: %s", r)
	}
	lp.bases = jsonBases[:1]
	if a, err := lp.post(); err != nil || a.Status != 404 || a.Code != "item-not-found" {
		t.Errorf("a2's long-poll session through a1 after a2 went: %+v %v", a, err)
	}
	c.url = boshURLs[0]
	c.until("", `<iq type="get" id="p2" xmlns='jabber:client'><ping xmlns="urn:xmpp:ping"/></iq>`, "id='p2'")
}
