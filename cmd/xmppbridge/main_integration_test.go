//go:build integration

package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xmppbridge/xmppbridge/internal/testbed"
	"github.com/xmppbridge/xmppbridge/interop"
)

// startDaemon runs the daemon as main does, with a configuration file for
// the test Prosody (plus extra tables, such as [json]), and returns its
// WebSocket URL and a function that sends it the shutdown signal and waits
// for run to return.
func startDaemon(t *testing.T, p *testbed.Prosody, extra ...string) (url string, stop func() error) {
	t.Helper()
	addr, stop := startDaemonConfig(t, daemonConfig(p, extra...))
	return "ws://" + addr + "/xmpp-websocket", stop
}

// daemonConfig is the configuration startDaemon runs the daemon with.
func daemonConfig(p *testbed.Prosody, extra ...string) string {
	return fmt.Sprintf(`
log_level = "debug"
allow_any_domain = false
shutdown_timeout = "5s"

[domain.%q]
address = %q
security = "starttls"
ca_file = %q
`, p.Domain, p.C2SAddr, p.CAFile) + strings.Join(extra, "\n")
}

// wsClient is a WebSocket whose messages a goroutine reads into a
// channel, so that a test can also wait a while for nothing to come
// (gorilla/websocket gives up on a connection after a read deadline).
type wsClient struct {
	t      *testing.T
	ws     *websocket.Conn
	msgs   chan string
	closed chan int // the close code, or -1 for another end
}

func dialWS(t *testing.T, url string) *wsClient {
	t.Helper()
	return dialWSWith(t, url, "xmpp")
}

func dialWSWith(t *testing.T, url, subprotocol string) *wsClient {
	t.Helper()
	return dialWSDialer(t, url, &websocket.Dialer{Subprotocols: []string{subprotocol}})
}

// dialWSDialer opens a WebSocket with d and reads it on a goroutine of its
// own until it closes.
func dialWSDialer(t *testing.T, url string, d *websocket.Dialer) *wsClient {
	t.Helper()
	ws, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	c := &wsClient{t: t, ws: ws, msgs: make(chan string, 64), closed: make(chan int, 1)}
	go func() {
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				code := -1
				if ce, ok := err.(*websocket.CloseError); ok {
					code = ce.Code
				}
				c.closed <- code
				close(c.msgs)
				return
			}
			c.msgs <- string(b)
		}
	}()
	return c
}

func (c *wsClient) send(s string) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// next returns the next message, or false when none came within d.
func (c *wsClient) next(d time.Duration) (string, bool) {
	c.t.Helper()
	select {
	case m, ok := <-c.msgs:
		if !ok {
			c.t.Fatalf("the WebSocket closed (code %d)", <-c.closed)
		}
		return m, true
	case <-time.After(d):
		return "", false
	}
}

// until reads messages until one contains want, and returns it.
func (c *wsClient) until(want string) string {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		m, ok := c.next(time.Until(deadline))
		if !ok {
			c.t.Fatalf("no %q within 15s", want)
		}
		if strings.Contains(m, want) {
			return m
		}
	}
}

// quiet waits for d, failing on any message.
func (c *wsClient) quiet(d time.Duration) {
	c.t.Helper()
	if m, ok := c.next(d); ok {
		c.t.Fatalf("got %s while idle", m)
	}
}

// closeCode skips messages until the close frame and returns its code.
func (c *wsClient) closeCode() int {
	c.t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case _, ok := <-c.msgs:
			if !ok {
				code := <-c.closed
				if code < 0 {
					c.t.Fatal("want a close frame, the connection ended without one")
				}
				return code
			}
		case <-timeout:
			c.t.Fatal("no close frame within 15s")
		}
	}
}

const openLocalhost = `<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="localhost" version="1.0"/>`

// TestDaemon logs in through the daemon by hand (SASL, restart, bind), then
// sends it the shutdown signal: the browser must get system-shutdown and a
// proper close, and run must return.
func TestDaemon(t *testing.T) {
	p := testbed.Start(t)
	url, stop := startDaemon(t, p)
	c := dialWS(t, url)

	c.send(openLocalhost)
	c.until("<open ")
	feat := c.until("<stream:features")
	if strings.Contains(feat, "starttls") {
		t.Fatalf("STARTTLS offered to the browser: %s", feat)
	}
	auth := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00" + testbed.Password))
	c.send(`<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">` + auth + `</auth>`)
	c.until("<success")
	c.send(openLocalhost)
	c.until("<open ")
	c.until("urn:ietf:params:xml:ns:xmpp-bind")
	c.send(`<iq xmlns="jabber:client" type="set" id="b1"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>daemon-test</resource></bind></iq>`)
	if got := c.until("<iq "); !strings.Contains(got, "alice@localhost/daemon-test") {
		t.Fatalf("bind result %s", got)
	}

	idle := dialWS(t, url) // connected, stream not yet opened

	errc := make(chan error, 1)
	go func() { errc <- stop() }()
	for _, cl := range []*wsClient{c, idle} {
		cl.until("<system-shutdown ")
		cl.until("<close ")
		if code := cl.closeCode(); code != websocket.CloseGoingAway {
			t.Fatalf("close code %d, want 1001", code)
		}
	}
	if err := <-errc; err != nil {
		t.Fatalf("run: %v", err)
	}
}

func TestDaemonRefusesOtherDomains(t *testing.T) {
	p := testbed.Start(t)
	url, _ := startDaemon(t, p)
	c := dialWS(t, url)
	c.send(`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="elsewhere.example" version="1.0"/>`)
	c.until("<open ")
	c.until("<host-unknown ")
	c.until("<close ")
	if code := c.closeCode(); code != websocket.ClosePolicyViolation {
		t.Fatalf("close code %d, want 1008", code)
	}
}

func TestDaemonUntrustedCertificate(t *testing.T) {
	p := testbed.Start(t)
	cfg := fmt.Sprintf("[domain.%q]\naddress = %q\n", p.Domain, p.C2SAddr) // system roots: the self-signed cert is not trusted
	path := filepath.Join(t.TempDir(), "x.toml")
	os.WriteFile(path, []byte(cfg), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-config", path, "-listen", "127.0.0.1:0", "-metrics", "off"}, ready)
	}()
	c := dialWS(t, "ws://"+<-ready+"/xmpp-websocket")
	c.send(openLocalhost)
	c.until("<open ")
	c.until("<remote-connection-failed ")
	if code := c.closeCode(); code != websocket.CloseInternalServerErr {
		t.Fatalf("close code %d, want 1011", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestDaemonBOSH runs Strophe.js's BOSH transport (interop's
// login-and-chat.mjs: two users log in and chat) through the daemon's
// /http-bind to the test Prosody, and the same straight against Prosody's
// own mod_bosh, to show the run is fair.
func TestDaemonBOSH(t *testing.T) {
	p := testbed.Start(t)
	wsURL, _ := startDaemon(t, p)
	for _, ep := range []struct{ name, url string }{{"daemon", boshURLOf(wsURL)}, {"prosody", p.BOSHURL}} {
		t.Run(ep.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			const count = 10
			out, err := interop.RunScript(ctx, "login-and-chat.mjs",
				"--lib", "strophe", "--url", ep.url, "--domain", p.Domain, "--count", strconv.Itoa(count))
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			s, err := interop.ParseSummary(out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if !s.OK || s.Sent != 2*count || s.Received != 2*count || s.Mechanism != "SCRAM-SHA-1" {
				t.Fatalf("summary %+v\n%s", s, out)
			}
		})
	}
}

// boshURLOf is the daemon's BOSH endpoint beside its WebSocket one.
func boshURLOf(wsURL string) string {
	return "http://" + strings.TrimSuffix(strings.TrimPrefix(wsURL, "ws://"), "/xmpp-websocket") + "/http-bind"
}

// boshClient speaks BOSH with net/http.
type boshClient struct {
	t   *testing.T
	url string
	sid string
	rid uint64       // the last rid sent
	hc  *http.Client // nil: boundedHTTP
}

var sidAttr = regexp.MustCompile(`\ssid='([^']+)'`)

// post sends one body (attrs and children) with the next rid and returns
// the response body.
func (c *boshClient) post(attrs, kids string) string {
	c.t.Helper()
	c.rid++
	r, err := c.postAt(c.rid, attrs, kids)
	if err != nil {
		c.t.Fatal(err)
	}
	return r
}

// postAt sends one body with the given rid; it may run on any goroutine.
func (c *boshClient) postAt(rid uint64, attrs, kids string) (string, error) {
	b := fmt.Sprintf("<body rid='%d' %s", rid, attrs)
	if c.sid != "" {
		b += " sid='" + c.sid + "'"
	}
	b += " xmlns='http://jabber.org/protocol/httpbind'"
	if kids == "" {
		b += "/>"
	} else {
		b += ">" + kids + "</body>"
	}
	hc := c.hc
	if hc == nil {
		hc = boundedHTTP
	}
	res, err := hc.Post(c.url, "text/xml; charset=utf-8", strings.NewReader(b))
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %d: %s", res.StatusCode, out)
	}
	return string(out), nil
}

// until sends kids, then empty requests, until a response contains want.
func (c *boshClient) until(attrs, kids, want string) string {
	c.t.Helper()
	for range 5 {
		r := c.post(attrs, kids)
		if strings.Contains(r, want) {
			return r
		}
		if strings.Contains(r, "type='terminate'") {
			c.t.Fatalf("waiting for %q: %s", want, r)
		}
		attrs, kids = "", ""
	}
	c.t.Fatalf("no %q in five responses", want)
	return ""
}

// TestDaemonBOSHByHand logs in through the daemon's BOSH endpoint with
// plain HTTP requests (SASL, restart, bind), then sends the daemon the
// shutdown signal: the request it holds must be answered with
// system-shutdown, and run must return.
func TestDaemonBOSHByHand(t *testing.T) {
	p := testbed.Start(t)
	wsURL, stop := startDaemon(t, p)
	c := &boshClient{t: t, url: boshURLOf(wsURL), rid: 4000}

	r := c.post("to='localhost' ver='1.6' wait='60' hold='1' xml:lang='en' xmlns:xmpp='urn:xmpp:xbosh' xmpp:version='1.0'", "")
	m := sidAttr.FindStringSubmatch(r)
	if m == nil || !strings.Contains(r, "xmpp:restartlogic='true'") || !strings.Contains(r, "<mechanism>PLAIN</mechanism>") {
		t.Fatalf("creation response %s", r)
	}
	if strings.Contains(r, "starttls") {
		t.Fatalf("STARTTLS offered to the browser: %s", r)
	}
	c.sid = m[1]
	auth := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00" + testbed.Password))
	c.until("", `<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">`+auth+`</auth>`, "<success")
	c.until("to='localhost' xml:lang='en' xmpp:restart='true' xmlns:xmpp='urn:xmpp:xbosh'", "", "urn:ietf:params:xml:ns:xmpp-bind")
	r = c.until("", `<iq type="set" id="b1"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>daemon-bosh</resource></bind></iq>`, "<iq ")
	if !strings.Contains(r, "alice@localhost/daemon-bosh") {
		t.Fatalf("bind result %s", r)
	}
	c.until("", `<iq type="get" id="r1"><query xmlns="jabber:iq:roster"/></iq>`, "jabber:iq:roster")

	// Two requests at once with hold='1': the first is answered when the
	// second is taken, with ack naming it (XEP-0124 §9.1), which tells
	// that the second is held. Each carries a payload nothing answers (an
	// iq result): two empty ones at once would be too frequent (§11).
	first, second := c.rid+1, c.rid+2
	type answer struct {
		body string
		err  error
	}
	answers := [2]chan answer{make(chan answer, 1), make(chan answer, 1)}
	for i, rid := range []uint64{first, second} {
		go func() {
			r, err := c.postAt(rid, "", fmt.Sprintf(`<iq type="result" id="unasked%d" to="localhost"/>`, i))
			answers[i] <- answer{r, err}
		}()
	}
	a := <-answers[0]
	if a.err != nil || !strings.Contains(a.body, fmt.Sprintf("ack='%d'", second)) {
		t.Fatalf("first request got %q, %v; want ack='%d'", a.body, a.err, second)
	}
	errc := make(chan error, 1)
	go func() { errc <- stop() }()
	a = <-answers[1]
	if a.err != nil || !strings.Contains(a.body, "type='terminate'") || !strings.Contains(a.body, "condition='system-shutdown'") {
		t.Fatalf("held request got %q, %v", a.body, a.err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("run: %v", err)
	}
}

// TestDaemonJSON: the daemon serves the demo page at / and the JSON API at
// /json/: a JSON WebSocket logs in on the bridge's side (over upstream
// STARTTLS), talks to the server, and hears system-shutdown at the drain.
func TestDaemonJSON(t *testing.T) {
	wsURL, stop := startDaemon(t, testbed.Start(t))
	base := strings.TrimSuffix(strings.Replace(wsURL, "ws://", "http://", 1), "/xmpp-websocket")

	res, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(page), "app.js") {
		t.Fatalf("GET /: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}

	c := dialWSWith(t, strings.Replace(base, "http://", "ws://", 1)+"/json/ws", "xmppbridge-json.v1")
	c.send(`{"kind":"login","jid":"alice@localhost","password":"secret","resource":"json","id":"l1"}`)
	c.until(`"jid":"alice@localhost/json"`)
	c.send(`{"kind":"iq","type":"get","id":"p1","payload":[{"name":"ping","xmlns":"urn:xmpp:ping"}]}`)
	c.until(`"id":"p1"`)
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	c.until(`"code":"system-shutdown"`)
	if code := c.closeCode(); code != websocket.CloseGoingAway {
		t.Fatalf("close code %d, want 1001", code)
	}
}

// TestDaemonPrebind: a web app's backend prebinds through /json/prebind: a
// token the page redeems on a JSON WebSocket, and a BOSH session at
// /http-bind that a client attaches to with the rid it was given.
func TestDaemonPrebind(t *testing.T) {
	const secret = "the-web-apps-own-secret"
	wsURL, _ := startDaemon(t, testbed.Start(t), "[json]\nprebind_secret = \""+secret+"\"")
	base := strings.TrimSuffix(strings.Replace(wsURL, "ws://", "http://", 1), "/xmpp-websocket")
	prebind := func(body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/json/prebind", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(res.Body).Decode(&m); err != nil || res.StatusCode != 200 {
			t.Fatalf("prebind %s: %d %v %v", body, res.StatusCode, m, err)
		}
		return m
	}

	m := prebind(`{"jid":"alice@localhost","password":"secret","resource":"tok"}`)
	c := dialWSWith(t, strings.Replace(base, "http://", "ws://", 1)+"/json/ws", "xmppbridge-json.v1")
	c.send(fmt.Sprintf(`{"kind":"login","token":%q}`, m["token"]))
	c.until(`"jid":"alice@localhost/tok"`)

	m = prebind(`{"jid":"bob@localhost","password":"secret","resource":"attach","bosh":true}`)
	sid, _ := m["sid"].(string)
	rid, _ := m["rid"].(float64)
	if m["jid"] != "bob@localhost/attach" || sid == "" || rid == 0 {
		t.Fatalf("BOSH prebind: %v", m)
	}
	b := &boshClient{t: t, url: base + "/http-bind", sid: sid, rid: uint64(rid) - 1}
	got := b.until("", "<iq type='get' id='p1' to='localhost' xmlns='jabber:client'><ping xmlns='urn:xmpp:ping'/></iq>", "id='p1'")
	if !strings.Contains(got, "type='result'") {
		t.Fatalf("ping over the attached session: %s", got)
	}
}
