//go:build integration

package main

import (
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xmppbridge/xmppbridge/internal/testbed"
)

// The per-address tests tell clients apart by their loopback address:
// Linux answers on all of 127.0.0.0/8, so each client binds its own.

func dialerFrom(ip string) *net.Dialer {
	return &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
}

// wsFrom opens a WebSocket to url from the loopback address ip.
func wsFrom(t *testing.T, url, subprotocol, ip string) *wsClient {
	t.Helper()
	return dialWSDialer(t, url, &websocket.Dialer{Subprotocols: []string{subprotocol}, NetDialContext: dialerFrom(ip).DialContext})
}

// httpFrom is an HTTP client whose connections come from ip.
func httpFrom(ip string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: dialerFrom(ip).DialContext}, Timeout: 90 * time.Second}
}

func plainAuth(user, password string) string {
	return `<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">` +
		base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+password)) + `</auth>`
}

const boshCreate = "to='localhost' ver='1.6' wait='60' hold='1' xml:lang='en' xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0'"

// newBOSH creates a BOSH session from ip and returns its client and the
// creation response.
func newBOSH(t *testing.T, wsURL, ip string) (*boshClient, string) {
	t.Helper()
	c := &boshClient{t: t, url: boshURLOf(wsURL), rid: 7000, hc: httpFrom(ip)}
	r := c.post(boshCreate, "")
	if m := sidAttr.FindStringSubmatch(r); m != nil {
		c.sid = m[1]
	}
	return c, r
}

// TestDaemonLoginThrottle: two wrong passwords from an address cost
// nothing; the third attempt, even with the right password, waits — on
// every path a login takes, each answering in its protocol's words, the
// server never asked. Each failure is logged with the address and the
// account.
func TestDaemonLoginThrottle(t *testing.T) {
	const secret = "0123456789abcdef-prebind"
	log := captureLog(t)
	wsURL, _ := startDaemon(t, testbed.Start(t),
		"[json]\nprebind_secret = \""+secret+"\"\nallow_insecure_password = true",
		"[limits]\nfailed_logins_free = 2\nfailed_login_delay = \"1h\"\nfailed_login_max_delay = \"1h\"")
	base := strings.TrimSuffix(strings.Replace(wsURL, "ws://", "http://", 1), "/xmpp-websocket")
	jsonWS := strings.Replace(base, "http://", "ws://", 1) + "/json/ws"

	t.Run("relayed WebSocket", func(t *testing.T) {
		const ip = "127.0.0.11"
		c := wsFrom(t, wsURL, "xmpp", ip)
		c.send(openLocalhost)
		c.until("<stream:features")
		for range 2 {
			c.send(plainAuth("ghost-ws", "wrong"))
			c.until("<not-authorized/>")
		}
		waitLog(t, log, `msg="login failed" client=127.0.0.11 account=ghost-ws@localhost relayed=true condition=not-authorized`)
		c.send(plainAuth("alice", testbed.Password))
		if got := c.until("<failure"); !strings.Contains(got, "<temporary-auth-failure/>") || !strings.Contains(got, "your address") {
			t.Fatalf("third attempt: %s, want temporary-auth-failure", got)
		}
		waitLog(t, log, `msg="login throttled" client=127.0.0.11 account=alice@localhost relayed=true`)
		// Another address logs in at once.
		o := wsFrom(t, wsURL, "xmpp", "127.0.0.12")
		o.send(openLocalhost)
		o.until("<stream:features")
		o.send(plainAuth("alice", testbed.Password))
		o.until("<success")
	})

	t.Run("relayed BOSH", func(t *testing.T) {
		const ip = "127.0.0.13"
		c, r := newBOSH(t, wsURL, ip)
		if c.sid == "" {
			t.Fatalf("creation: %s", r)
		}
		for range 2 {
			c.until("", plainAuth("ghost-bosh", "wrong"), "<not-authorized/>")
		}
		waitLog(t, log, `msg="login failed" client=127.0.0.13 account=ghost-bosh@localhost relayed=true`)
		r = c.until("", plainAuth("alice", testbed.Password), "<failure")
		if !strings.Contains(r, "<temporary-auth-failure/>") {
			t.Fatalf("third attempt: %s, want temporary-auth-failure", r)
		}
	})

	t.Run("JSON login", func(t *testing.T) {
		const ip = "127.0.0.14"
		for range 2 {
			c := wsFrom(t, jsonWS, "xmppbridge-json.v1", ip)
			c.send(`{"kind":"login","jid":"ghost-json@localhost","password":"wrong","id":"l1"}`)
			c.until(`"code":"not-authorized"`)
		}
		waitLog(t, log, `msg="login failed" client=127.0.0.14 account=ghost-json@localhost relayed=false condition=not-authorized`)
		c := wsFrom(t, jsonWS, "xmppbridge-json.v1", ip)
		c.send(`{"kind":"login","jid":"alice@localhost","password":"secret","id":"l2"}`)
		got := c.until(`"kind":"error"`)
		if !strings.Contains(got, `"code":"throttled"`) || !strings.Contains(got, `"type":"wait"`) {
			t.Fatalf("third attempt: %s, want a throttled error", got)
		}
		waitLog(t, log, `msg="login throttled" client=127.0.0.14 account=alice@localhost relayed=false`)

		// The same address over long-polling: the address is known from
		// the request itself.
		res, err := httpFrom(ip).Post(base+"/json/poll", "application/json",
			strings.NewReader(`{"rid":4001,"frames":[{"kind":"login","jid":"alice@localhost","password":"secret","id":"l3"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		json.NewDecoder(res.Body).Decode(&m)
		res.Body.Close()
		if res.StatusCode != http.StatusTooManyRequests || m["code"] != "throttled" {
			t.Fatalf("long-poll login: %d %v, want 429 throttled", res.StatusCode, m)
		}
	})

	t.Run("BOSH prebind", func(t *testing.T) {
		// The backend's address speaks for all its users: only the
		// account is throttled, and the backend's other users are not.
		hc := httpFrom("127.0.0.15")
		prebind := func(jid, password string) (int, map[string]any) {
			t.Helper()
			body := `{"jid":"` + jid + `","password":"` + password + `","bosh":true}`
			req, _ := http.NewRequest("POST", base+"/json/prebind", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+secret)
			res, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var m map[string]any
			json.NewDecoder(res.Body).Decode(&m)
			return res.StatusCode, m
		}
		for range 2 {
			if st, m := prebind("ghost-prebind@localhost", "wrong"); st != http.StatusUnauthorized {
				t.Fatalf("wrong password: %d %v, want 401", st, m)
			}
		}
		st, m := prebind("ghost-prebind@localhost", "wrong")
		if st != http.StatusTooManyRequests || m["code"] != "throttled" || !strings.Contains(m["text"].(string), "this account") {
			t.Fatalf("third attempt: %d %v, want 429 throttled for the account", st, m)
		}
		waitLog(t, log, `msg="login throttled" account=ghost-prebind@localhost`)
		if st, m := prebind("bob@localhost", "secret"); st != http.StatusOK || m["sid"] == nil {
			t.Fatalf("another user of the same backend: %d %v", st, m)
		}
	})
}

// TestDaemonAddressLimits: sessions per address count across the
// transports, and so do opens; other addresses are untouched.
func TestDaemonAddressLimits(t *testing.T) {
	p := testbed.Start(t)
	t.Run("sessions", func(t *testing.T) {
		wsURL, _ := startDaemon(t, p, "[json]\nallow_insecure_password = true", "[limits]\nsessions_per_address = 2")
		const ip = "127.0.0.21"
		ws := wsFrom(t, wsURL, "xmpp", ip)
		ws.send(openLocalhost)
		ws.until("<stream:features")
		if _, r := newBOSH(t, wsURL, ip); !strings.Contains(r, "<stream:features") {
			t.Fatalf("BOSH session: %s", r)
		}
		// The third, over the JSON API, is refused.
		jsonWS := strings.TrimSuffix(wsURL, "/xmpp-websocket") + "/json/ws"
		j := wsFrom(t, jsonWS, "xmppbridge-json.v1", ip)
		j.send(`{"kind":"login","jid":"alice@localhost","password":"secret","id":"l1"}`)
		if got := j.until(`"kind":"error"`); !strings.Contains(got, `"code":"throttled"`) || !strings.Contains(got, "too many sessions from your address") {
			t.Fatalf("third session: %s", got)
		}
		// And a fourth over WebSocket hears policy-violation.
		w2 := wsFrom(t, wsURL, "xmpp", ip)
		w2.send(openLocalhost)
		w2.until("<policy-violation ")
		if code := w2.closeCode(); code != websocket.ClosePolicyViolation {
			t.Fatalf("close code %d, want 1008", code)
		}
		// Another address is not counted with these.
		o := wsFrom(t, wsURL, "xmpp", "127.0.0.22")
		o.send(openLocalhost)
		o.until("<stream:features")
		// Once one of the address's sessions ends, it may open another.
		ws.send(`<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>`)
		ws.closeCode()
		deadline := time.Now().Add(10 * time.Second)
		for {
			w3 := wsFrom(t, wsURL, "xmpp", ip)
			w3.send(openLocalhost)
			if got := w3.until("<stream:"); strings.Contains(got, "<stream:features") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the ended session's place was not given back")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	t.Run("opens", func(t *testing.T) {
		log := captureLog(t)
		wsURL, _ := startDaemon(t, p, "[limits]\nopens_per_minute = 1\nopen_burst = 3")
		const ip = "127.0.0.23"
		for i := range 3 {
			c, r := newBOSH(t, wsURL, ip)
			if c.sid == "" || !strings.Contains(r, "<stream:features") {
				t.Fatalf("open %d: %s", i, r)
			}
			c.post("type='terminate'", "")
		}
		c, r := newBOSH(t, wsURL, ip)
		if !strings.Contains(r, "type='terminate'") || !strings.Contains(r, "condition='policy-violation'") {
			t.Fatalf("fourth open in a minute: %s (sid %q), want terminate policy-violation", r, c.sid)
		}
		waitLog(t, log, `msg="session ended"`, "reason=address-limit", "client=127.0.0.23")
		if _, r := newBOSH(t, wsURL, "127.0.0.24"); !strings.Contains(r, "<stream:features") {
			t.Fatalf("another address: %s", r)
		}
	})
}

// TestDaemonAuthTimeout: a relayed stream that does not log in within
// auth_timeout is ended by the bridge, whatever Prosody's own timeout;
// one that logs in stays.
func TestDaemonAuthTimeout(t *testing.T) {
	wsURL, _ := startDaemon(t, testbed.Start(t), "[limits]\nauth_timeout = \"1s\"")
	idle := wsFrom(t, wsURL, "xmpp", "127.0.0.31")
	idle.send(openLocalhost)
	idle.until("<stream:features")
	b, _ := newBOSH(t, wsURL, "127.0.0.31")

	good := wsFrom(t, wsURL, "xmpp", "127.0.0.32")
	good.send(openLocalhost)
	good.until("<stream:features")
	good.send(plainAuth("alice", testbed.Password))
	good.until("<success")

	got := idle.until("<stream:error")
	if !strings.Contains(got, "<policy-violation ") || !strings.Contains(got, "not authenticated within 1s") {
		t.Fatalf("unauthenticated WebSocket: %s", got)
	}
	if code := idle.closeCode(); code != websocket.ClosePolicyViolation {
		t.Fatalf("close code %d, want 1008", code)
	}
	r := b.post("", "")
	if !strings.Contains(r, "type='terminate'") || !strings.Contains(r, "condition='policy-violation'") {
		t.Fatalf("unauthenticated BOSH session: %s", r)
	}
	// The one that logged in restarts and binds well after the deadline.
	time.Sleep(1500 * time.Millisecond)
	good.send(openLocalhost)
	good.until("urn:ietf:params:xml:ns:xmpp-bind")
}

// TestDaemonReservedSessions: streams that have not logged in may take
// only max_sessions less reserved_sessions; the rest is for those who
// log in.
func TestDaemonReservedSessions(t *testing.T) {
	wsURL, _ := startDaemon(t, testbed.Start(t), "[json]\nallow_insecure_password = true",
		"[limits]\nmax_sessions = 4\nreserved_sessions = 2")
	jsonWS := strings.TrimSuffix(wsURL, "/xmpp-websocket") + "/json/ws"
	var anon []*wsClient
	for i := range 2 {
		c := wsFrom(t, wsURL, "xmpp", "127.0.0.4"+string(rune('1'+i)))
		c.send(openLocalhost)
		c.until("<stream:features")
		anon = append(anon, c)
	}
	third := wsFrom(t, wsURL, "xmpp", "127.0.0.43")
	third.send(openLocalhost)
	if got := third.until("<stream:error"); !strings.Contains(got, "<resource-constraint ") {
		t.Fatalf("a third stream not logged in: %s, want resource-constraint", got)
	}
	// A login through the JSON API takes a reserved place.
	j := wsFrom(t, jsonWS, "xmppbridge-json.v1", "127.0.0.44")
	j.send(`{"kind":"login","jid":"bob@localhost","password":"secret","resource":"reserved","id":"l1"}`)
	j.until(`"jid":"bob@localhost/reserved"`)
	// One of the anonymous ones logs in: its place among them is free.
	anon[0].send(plainAuth("alice", testbed.Password))
	anon[0].until("<success")
	c := wsFrom(t, wsURL, "xmpp", "127.0.0.45")
	c.send(openLocalhost)
	c.until("<stream:features")
}
