package wsframe

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

const openFrame = `<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="localhost" version="1.0"/>`

type env struct {
	hub *bridge.Hub
	h   *Handler
	srv *httptest.Server
	url string
}

// newEnv serves a Handler in front of the server at upstreamAddr, or of
// cfg.Hub if set.
func newEnv(t testing.TB, upstreamAddr string, cfg Config) *env {
	t.Helper()
	if cfg.Hub == nil {
		cfg.Hub = bridge.New(bridge.Config{Upstream: plaintext(upstreamAddr, 0)})
	}
	hub := cfg.Hub
	h := New(cfg)
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		hub.Shutdown(ctx)
		h.Shutdown(ctx)
		srv.Close()
	})
	return &env{hub: hub, h: h, srv: srv, url: "ws" + strings.TrimPrefix(srv.URL, "http")}
}

// plaintext is the Hub's rule for the test's server at addr: every domain
// there, in plaintext, with the dial timeout given (0: the default).
func plaintext(addr string, dialTimeout time.Duration) func(string) (xmppclient.Config, error) {
	return func(d string) (xmppclient.Config, error) {
		return xmppclient.Config{Domain: d, Addr: addr, Security: xmppclient.Plaintext, DialTimeout: dialTimeout}, nil
	}
}

type client struct {
	t  *testing.T
	ws *websocket.Conn
}

func (e *env) dial(t *testing.T) *client {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{"xmpp"}}
	ws, resp, err := d.Dial(e.url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "xmpp" {
		t.Fatalf("subprotocol %q, want xmpp", got)
	}
	t.Cleanup(func() { ws.Close() })
	return &client{t: t, ws: ws}
}

func (c *client) send(s string) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// read returns the next text message, or fails the test.
func (c *client) read() string {
	c.t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	typ, b, err := c.ws.ReadMessage()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	if typ != websocket.TextMessage {
		c.t.Fatalf("message type %d, want text", typ)
	}
	return string(b)
}

// readToClose returns the text messages up to and with the first <close/>.
func (c *client) readToClose() []string {
	c.t.Helper()
	var got []string
	for {
		m := c.read()
		got = append(got, m)
		if strings.HasPrefix(m, "<close") {
			return got
		}
	}
}

// closeCode reads until the close frame and returns its code.
func (c *client) closeCode() int {
	c.t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				return ce.Code
			}
			c.t.Fatalf("want a close frame, got %v", err)
		}
		c.t.Logf("before close: %s", b)
	}
}

func expect(t *testing.T, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Fatalf("got %s\nwant it to contain %s", got, w)
		}
	}
}

func TestStreamLifecycle(t *testing.T) {
	up := fakexmpp.Start(t, fakexmpp.Echo)
	e := newEnv(t, up.Addr, Config{})
	c := e.dial(t)

	c.send(openFrame)
	expect(t, c.read(), "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' version='1.0'", "from='localhost'", "id='s1'", "xml:lang='en'")
	feat := c.read()
	expect(t, feat, "<stream:features xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>", "<mechanism>PLAIN</mechanism>")

	msg := `<message xmlns="jabber:client" to="b@localhost" id="1"><body>&lt;&amp;&gt; ü€😀</body><x xmlns="urn:example"/></message>`
	c.send(msg)
	if got := c.read(); got != msg {
		t.Fatalf("echo %s, want %s", got, msg)
	}
	c.send(" ") // whitespace keepalive is ignored

	c.send(openFrame) // restart
	expect(t, c.read(), "<open ", "id='s2'")
	expect(t, c.read(), "<stream:features")

	c.send(`<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>`)
	expect(t, c.read(), "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>")
	if code := c.closeCode(); code != websocket.CloseNormalClosure {
		t.Fatalf("close code %d, want 1000", code)
	}
	waitSessions(t, e.hub, 0)
}

// Elements that rely on the upstream stream's namespaces get them declared.
func TestNamespacesAreDeclared(t *testing.T) {
	up := fakexmpp.Start(t, func(c *fakexmpp.Conn) {
		c.Open("n", "<stream:features/>")
		c.Read()
		c.Send("<message from='a@localhost'><body>hi</body></message><stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>")
		c.Read()
	})
	e := newEnv(t, up.Addr, Config{})
	c := e.dial(t)
	c.send(openFrame)
	c.read()
	c.read()
	c.send(`<presence xmlns="jabber:client"/>`)
	if got, want := c.read(), "<message xmlns='jabber:client' from='a@localhost'><body>hi</body></message>"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	expect(t, c.read(), "<stream:error xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'><conflict")
	expect(t, c.read(), "<close ")
	if code := c.closeCode(); code != websocket.CloseNormalClosure {
		t.Fatalf("close code %d", code)
	}
}

func TestBadInput(t *testing.T) {
	up := fakexmpp.Start(t, fakexmpp.Echo)
	tests := []struct {
		name   string
		frames []string
		binary bool
		cond   string
		code   int
	}{
		{"malformed XML", []string{openFrame, "<message><body></message>"}, false, "not-well-formed", 1007},
		{"comment", []string{openFrame, "<message><!--x--></message>"}, false, "restricted-xml", 1007},
		{"oversize", []string{openFrame, "<message><body>" + strings.Repeat("x", 5000) + "</body></message>"}, false, "policy-violation", 1009},
		{"stanza before open", []string{"<message xmlns='jabber:client'/>"}, false, "bad-format", 1002},
		{"bad version", []string{`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="localhost" version="0.9"/>`}, false, "unsupported-version", 1002},
		{"binary message", []string{openFrame, "<presence/>"}, true, "bad-format", 1002},
		{"stream header instead of open", []string{"<stream:stream xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'/>"}, false, "invalid-namespace", 1002},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, up.Addr, Config{MaxStanzaBytes: 4096})
			c := e.dial(t)
			for i, f := range tt.frames {
				typ := websocket.TextMessage
				if tt.binary && i == len(tt.frames)-1 {
					typ = websocket.BinaryMessage
				}
				if err := c.ws.WriteMessage(typ, []byte(f)); err != nil {
					t.Fatal(err)
				}
			}
			got := c.readToClose()
			if !strings.HasPrefix(got[0], "<open ") {
				t.Fatalf("first message %s, want <open/>", got[0])
			}
			expect(t, strings.Join(got, "\n"), "<stream:error xmlns:stream='http://etherx.jabber.org/streams'><"+tt.cond+" xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>")
			if code := c.closeCode(); code != tt.code {
				t.Fatalf("close code %d, want %d", code, tt.code)
			}
			waitSessions(t, e.hub, 0)
		})
	}
}

func TestUpstreamUnreachable(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	e := newEnv(t, addr, Config{})
	c := e.dial(t)
	c.send(openFrame)
	expect(t, c.read(), "<open ", "from='localhost'")
	expect(t, c.read(), "<remote-connection-failed ")
	expect(t, c.read(), "<close ")
	if code := c.closeCode(); code != 1011 {
		t.Fatalf("close code %d, want 1011", code)
	}
}

func TestRejectedUpgrades(t *testing.T) {
	up := fakexmpp.Start(t, fakexmpp.Echo)
	e := newEnv(t, up.Addr, Config{CheckOrigin: func(r *http.Request) bool {
		o := r.Header.Get("Origin")
		return o == "" || o == "https://chat.example"
	}})
	tests := []struct {
		name   string
		header http.Header
		status int
		reason string
	}{
		{"plain GET", http.Header{}, 400, "RFC 7395"},
		{"no subprotocol", wsHeader(""), 400, "subprotocol 'xmpp' is required"},
		{"other subprotocol", wsHeader("mqtt"), 400, "subprotocol 'xmpp' is required"},
		{"origin not allowed", withOrigin(wsHeader("xmpp"), "https://evil.example"), 403, "origin not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.srv.URL, nil)
			req.Header = tt.header
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.reason) {
				t.Fatalf("got %d %q, want %d with %q", resp.StatusCode, body, tt.status, tt.reason)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Fatalf("Content-Type %q, want text/plain", ct)
			}
		})
	}
	t.Run("allowed origin", func(t *testing.T) {
		d := websocket.Dialer{Subprotocols: []string{"xmpp"}}
		ws, _, err := d.Dial(e.url, withOrigin(http.Header{}, "https://chat.example"))
		if err != nil {
			t.Fatal(err)
		}
		ws.Close()
	})
}

func wsHeader(proto string) http.Header {
	h := http.Header{}
	h.Set("Connection", "Upgrade")
	h.Set("Upgrade", "websocket")
	h.Set("Sec-WebSocket-Version", "13")
	h.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	if proto != "" {
		h.Set("Sec-WebSocket-Protocol", proto)
	}
	return h
}

func withOrigin(h http.Header, o string) http.Header {
	h.Set("Origin", o)
	return h
}

func TestSeeOtherURI(t *testing.T) {
	up := fakexmpp.Start(t, fakexmpp.Echo)
	e := newEnv(t, up.Addr, Config{SeeOtherURI: func(string) string { return "wss://other.example/xmpp-websocket" }})
	c := e.dial(t)
	c.send(openFrame)
	expect(t, c.read(), "<open ")
	if got, want := c.read(), "<close xmlns='urn:ietf:params:xml:ns:xmpp-framing' see-other-uri='wss://other.example/xmpp-websocket'/>"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if code := c.closeCode(); code != 1000 {
		t.Fatalf("close code %d", code)
	}
}

// A drain with DrainURI sends browsers there (RFC 7395 §3.6.1) instead of
// telling them the bridge shuts down.
func TestShutdownDrainURI(t *testing.T) {
	up := fakexmpp.Start(t, fakexmpp.Echo)
	e := newEnv(t, up.Addr, Config{DrainURI: "wss://peer.example/xmpp-websocket"})
	c := e.dial(t)
	c.send(openFrame)
	c.read()
	c.read()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		e.hub.Shutdown(ctx)
		e.h.Shutdown(ctx)
	}()
	m := c.read()
	expect(t, m, "see-other-uri='wss://peer.example/xmpp-websocket'")
	if strings.Contains(m, "system-shutdown") {
		t.Fatalf("got %s", m)
	}
	if code := c.closeCode(); code != 1000 {
		t.Fatalf("close code %d, want 1000", code)
	}
}

// TestBaseContext: streams open under Config.BaseContext; when it is done,
// an open under way stops, and the browser hears that the server was not
// reached.
func TestBaseContext(t *testing.T) {
	reached := make(chan struct{}, 1)
	up := fakexmpp.Start(t, fakexmpp.Silent(reached))
	base, cut := context.WithCancel(context.Background())
	defer cut()
	// Only the base context ends the open, not the dial timeout.
	hub := bridge.New(bridge.Config{Upstream: plaintext(up.Addr, time.Hour)})
	e := newEnv(t, "", Config{Hub: hub, BaseContext: base})
	c := e.dial(t)
	c.send(openFrame)
	<-reached
	cut()
	expect(t, strings.Join(c.readToClose(), "\n"), "<remote-connection-failed ")
}

func TestShutdownSendsSystemShutdown(t *testing.T) {
	up := fakexmpp.Start(t, fakexmpp.Echo)
	e := newEnv(t, up.Addr, Config{})
	c := e.dial(t)
	idle := e.dial(t) // no stream opened yet
	c.send(openFrame)
	c.read()
	c.read()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 2)
	go func() {
		e.hub.Shutdown(ctx)
		done <- e.h.Shutdown(ctx)
	}()
	for _, cl := range []*client{c, idle} {
		expect(t, strings.Join(cl.readToClose(), "\n"), "<system-shutdown ")
		if code := cl.closeCode(); code != 1001 {
			t.Fatalf("close code %d, want 1001", code)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestKeepalivePing(t *testing.T) {
	up := fakexmpp.Start(t, fakexmpp.Echo)
	e := newEnv(t, up.Addr, Config{PingInterval: 50 * time.Millisecond})
	c := e.dial(t)
	pinged := make(chan struct{}, 1)
	c.ws.SetPingHandler(func(string) error {
		select {
		case pinged <- struct{}{}:
		default:
		}
		return nil
	})
	go c.ws.ReadMessage()
	select {
	case <-pinged:
	case <-time.After(5 * time.Second):
		t.Fatal("no ping")
	}
}

func waitSessions(t *testing.T, h *bridge.Hub, n int) {
	t.Helper()
	for i := 0; h.Len() != n; i++ {
		if i > 500 {
			t.Fatalf("hub holds %d sessions, want %d", h.Len(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
