//go:build integration

package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/netbed"
)

// TestNetnsEjabberdCluster: two ejabberd 23.01 nodes serving c.test,
// joined with join_cluster, each in a box of its own with a bridge in
// front of it (c1, c2). carol over BOSH with XEP-0198 resumption and
// alice's JSON long-poll page are on box c; bob writes to them from box
// c2. Box c dies: its link is cut and its ejabberd node and bridge are
// killed. This is what ejabberd can do then: a stream-management session
// lives in the c2s process of the node that died, so through c2 the
// resumption fails (carol's <resume/> gets <failed/>, alice's token
// item-not-found: resumed:false) and both log in again on the other node.
// A message sent once that node has noticed the death (net_ticktime)
// waits in its offline storage and comes with their first presence, once;
// the test waits until it is stored, since a message stored only after
// the client's presence would wait for its next login. What was routed to
// the dead node's sessions before the death was noticed is lost with it
// (README, "Bridges in front of an ejabberd cluster"); the test sends
// nothing then.
func TestNetnsEjabberdCluster(t *testing.T) {
	tb := netbed.StartWith(t, netbed.Options{EjabberdCluster: true})
	run := randomHex(4)
	t.Cleanup(func() {
		if t.Failed() {
			for _, box := range []string{"c", "c2"} {
				log, _ := os.ReadFile(filepath.Join(tb.Dir, box, "ejabberd.log"))
				for line := range strings.Lines(string(log)) {
					if strings.Contains(line, "[warning]") || strings.Contains(line, "[error]") {
						t.Logf("ejabberd of box %s: %s", box, strings.TrimSpace(line))
					}
				}
			}
		}
	})

	bob := dialWSWith(t, strings.Replace(tb.C2URL, "http://", "ws://", 1)+"/json/ws", "xmppbridge-json.v1")
	bob.send(`{"kind":"login","jid":"bob@c.test","password":"secret","resource":"sender","id":"l1"}`)
	bob.until(`"jid":"bob@c.test/sender"`)
	bt, jt := newTally("b"+run), newTally("j"+run)
	send := func(round string) {
		bob.send(fmt.Sprintf(`{"kind":"message","to":"carol@c.test/bosh","type":"chat","body":"%s %s"}`, bt.marker, round))
		bob.send(fmt.Sprintf(`{"kind":"message","to":"alice@c.test/json","type":"chat","body":"%s %s"}`, jt.marker, round))
	}

	carol := &boshPage{c: boshLogin(t, tb.C1URL+"/http-bind", "carol", "c.test", "bosh", 1000), domain: "c.test", tl: bt}
	carol.enable(t)
	page := &jsonPage{c: &jsonHTTP{t: t, bases: []string{tb.C1URL + "/json"}, poll: true, rid: 10}, tl: jt}
	page.login(t, "alice", "c.test", "json")
	send("1")
	carol.until(t, `<presence xmlns="jabber:client"/>`, "1")
	page.until(t, "1", `{"kind":"presence"}`)

	if err := tb.Down("c"); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	// The surviving node drops the dead one's sessions when it notices.
	for {
		users, err := tb.Ejabberd("c2", "connected_users", "{}")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(users, "carol@c.test") && !strings.Contains(users, "alice@c.test") {
			break
		}
		if time.Since(down) > 60*time.Second {
			t.Fatalf("node c2 still lists box c's sessions a minute after it died: %s", users)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("node c2 noticed box c's death after %v", time.Since(down).Round(time.Millisecond))
	send("2")
	sent := time.Now()
	for _, u := range []string{"carol", "alice"} {
		for {
			n, err := tb.Ejabberd("c2", "get_offline_count", `{"user":"`+u+`","server":"c.test"}`)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(n, `"value":1}`) || strings.TrimSpace(n) == "1" {
				break
			}
			if time.Since(sent) > 30*time.Second {
				t.Fatalf("the message to %s is not in node c2's offline storage after 30s: %s", u, n)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	t.Logf("stored offline after %v", time.Since(sent).Round(time.Millisecond))

	// carol: her stream was in the dead node.
	resumed, err := carol.reconnect(tb.C2URL + "/http-bind")
	if err != nil {
		t.Fatal(err)
	}
	if resumed {
		t.Fatal("carol's stream was resumed on the other node; ejabberd 23.01 was not expected to")
	}
	carol.previd, carol.h = "", 0
	carol.c.rid++
	if r, err := carol.c.postAt(carol.c.rid, "", `<iq type="set" id="b2" xmlns="jabber:client"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>bosh</resource></bind></iq>`); err != nil || !strings.Contains(r, "carol@c.test/bosh") {
		t.Fatalf("carol binds again: %q %v", r, err)
	}
	carol.until(t, `<presence xmlns="jabber:client"/>`, "2")

	// alice's page: its token names a stream of the dead node.
	page.c.sid = ""
	page.c.bases = []string{tb.C2URL + "/json"}
	a, err := page.c.post(fmt.Sprintf(`{"kind":"resume","token":%q,"last":%d,"h":%d,"acked":{"n":%d,"h":%d}}`,
		page.token, page.c.ack, page.h, page.acked.n, page.acked.h))
	if err != nil {
		t.Fatal(err)
	}
	if a.Status == http.StatusOK || a.Code != "item-not-found" {
		t.Fatalf("alice's resume through c2: %+v; want item-not-found (resumed: false)", a)
	}
	page.c = &jsonHTTP{t: t, bases: []string{tb.C2URL + "/json"}, poll: true, rid: 5000}
	page.login(t, "alice", "c.test", "json")
	page.until(t, "2", `{"kind":"presence"}`)

	send("3")
	carol.until(t, "", "3")
	page.until(t, "3")
	// Nothing came twice: what was delivered before the death was not
	// stored again, and the stored message came once, before "3".
	for _, tl := range []*tally{bt, jt} {
		for _, r := range []string{"1", "2", "3"} {
			if n := tl.got[tl.marker+" "+r]; n != 1 {
				t.Errorf("client %s got message %q %d times; want once (%v)", tl.marker, r, n, tl.got)
			}
		}
	}
}
