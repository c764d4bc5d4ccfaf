package jsonapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
	"github.com/xmppbridge/xmppbridge/internal/httphold"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// The pages of the tests: clients of each transport as a web page uses
// them, for the unit tests (against internal/fakexmpp's Router) and the
// integration tests (against a real Prosody) alike.

const prebindSecret = "a-secret-of-the-web-app"

// upstream is the XMPP server of the tests' bridges: a Router of the
// test's own, or, under the integration tag, the real Prosody (its
// TestMain sets this and addUser).
var upstream = func(t *testing.T) string { return fakexmpp.StartRouter(t).Addr }

// addUser makes sure the server has user, password "secret" (the Router
// takes anyone).
var addUser = func(t *testing.T, user string) {}

// serve runs a Handler in front of the tests' server (upstream) and
// returns its base URL (http://…/json).
func serve(t *testing.T, cfg Config) (string, *Handler) {
	t.Helper()
	return serveAt(t, cfg, upstream(t))
}

// serveAt runs a Handler in front of the XMPP server at addr (plaintext,
// domain localhost), or of cfg.Hub if set, and returns its base URL
// (http://…/json).
func serveAt(t *testing.T, cfg Config, addr string) (string, *Handler) {
	t.Helper()
	b := startBridge(t, cfg, addr)
	t.Cleanup(func() { b.stop(t, false) })
	return b.base, b.h
}

// testBridge is a Handler served as cmd/xmppbridge serves it.
type testBridge struct {
	base string
	h    *Handler
	hub  *bridge.Hub
	srv  *httptest.Server
	once sync.Once
}

func startBridge(t *testing.T, cfg Config, addr string) *testBridge {
	t.Helper()
	if cfg.Hub == nil {
		cfg.Hub = bridge.New(bridge.Config{Upstream: func(domain string) (xmppclient.Config, error) {
			return xmppclient.Config{Domain: domain, Addr: addr, Security: xmppclient.Plaintext}, nil
		}})
	}
	hub := cfg.Hub
	if cfg.PrebindSecret == "" {
		cfg.PrebindSecret = prebindSecret
	}
	h := New(cfg)
	mux := http.NewServeMux()
	mux.Handle("/json/", h)
	// Held requests are taken over (httphold).
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener = httphold.Attach(srv.Config, srv.Listener, 0)
	srv.Start()
	return &testBridge{base: srv.URL + "/json", h: h, hub: hub, srv: srv}
}

// stop shuts the bridge down, once. A crash first cuts every browser
// connection, so that pages hear nothing, as when the process dies; the
// upstream streams then end as at a shutdown (those with stream
// management dropped without a close, for the server to keep).
func (b *testBridge) stop(t *testing.T, crash bool) {
	b.once.Do(func() {
		if crash {
			b.srv.CloseClientConnections()
			b.srv.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.hub.Shutdown(ctx); err != nil {
			t.Errorf("hub shutdown: %v", err)
		}
		if err := b.h.Shutdown(ctx); err != nil && !crash {
			t.Errorf("json shutdown: %v", err)
		}
		b.srv.Close()
	})
}

// frameOf is what the tests read of a frame.
type frameOf struct {
	Kind, ID, Type, Code, Text, JID, SID, From, To, Body string
	Token                                                string
	First, Received, N, H                                uint64
	Stanza                                               bool
	Delay                                                struct{ From string }
	raw                                                  string
}

func decode(t *testing.T, b []byte) frameOf {
	t.Helper()
	var f frameOf
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("frame %s: %v", b, err)
	}
	f.raw = string(b)
	return f
}

// client is one transport's view for the tests.
type client interface {
	send(t *testing.T, frame string)
	next(t *testing.T) frameOf
	close()
}

const frameTimeout = 15 * time.Second

// nextKind skips frames until one of kind.
func nextKind(t *testing.T, c client, kind string) frameOf {
	t.Helper()
	for {
		if f := c.next(t); f.Kind == kind {
			return f
		}
	}
}

// nextBody skips frames until a message with a body, other than one an
// earlier test left unacknowledged: Prosody's stream management sends
// those again, to the next session of the user, delayed from the user's
// own bare JID.
func nextBody(t *testing.T, c client) frameOf {
	t.Helper()
	for {
		f := c.next(t)
		if f.Kind != "message" || f.Body == "" {
			continue
		}
		if bare, _, _ := strings.Cut(f.To, "/"); f.Delay.From != "" && f.Delay.From == bare {
			t.Logf("skipped, sent again for an earlier session: %s", f.raw)
			continue
		}
		return f
	}
}

// WebSocket.

type wsClient struct {
	ws     *websocket.Conn
	frames chan []byte
	closed chan int      // the close code
	ended  chan struct{} // closed when the reader stops
	n      uint64        // the number of the latest frame read (see next)
	noAck  bool          // a page that never acknowledges
	h      uint64        // the server's stanzas read (docs/json-api.md)
	acked  [2]uint64     // the latest confirmation of the page's frames: n, h
}

func dialWS(t *testing.T, base string) *wsClient {
	t.Helper()
	url := "ws" + strings.TrimPrefix(base, "http") + "/ws"
	ws, resp, err := (&websocket.Dialer{Subprotocols: []string{Subprotocol}}).Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != Subprotocol {
		t.Fatalf("subprotocol %q", got)
	}
	c := &wsClient{ws: ws, frames: make(chan []byte, 1024), closed: make(chan int, 1), ended: make(chan struct{})}
	go func() {
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				code := -1
				if ce, ok := err.(*websocket.CloseError); ok {
					code = ce.Code
				}
				c.closed <- code
				close(c.frames)
				close(c.ended)
				return
			}
			c.frames <- msg
		}
	}()
	t.Cleanup(c.close)
	return c
}

func (c *wsClient) send(t *testing.T, frame string) {
	t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		t.Fatalf("send: %v", err)
	}
}

func (c *wsClient) next(t *testing.T) frameOf {
	t.Helper()
	select {
	case b, ok := <-c.frames:
		if !ok {
			t.Fatal("the WebSocket closed")
		}
		f := decode(t, b)
		// Frames carry no number on a WebSocket: the session frame is 1,
		// the resumed frame says the next, and acks have none. The page
		// acknowledges each as it reads it.
		switch f.Kind {
		case "message", "presence", "iq":
			c.h++
		case "error":
			if f.Stanza {
				c.h++
			}
		case "ack":
			c.acked = [2]uint64{f.N, f.H}
		}
		switch {
		case f.Kind == "session":
			c.n = 1
		case f.Kind == "resumed":
			c.n = f.First - 1
		case c.n > 0 && f.Kind != "ack":
			c.n++
		default:
			return f
		}
		if !c.noAck {
			_ = c.ws.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, `{"kind":"ack","n":%d}`, c.n))
		}
		return f
	case <-time.After(frameTimeout):
		t.Fatal("no frame")
	}
	return frameOf{}
}

// close ends the session as a page that logs out does, and waits a moment
// for the bridge to close the WebSocket.
func (c *wsClient) close() {
	if c.n > 0 && c.ws.WriteMessage(websocket.TextMessage, []byte(`{"kind":"close"}`)) == nil {
		select {
		case <-c.ended:
		case <-time.After(5 * time.Second):
		}
	}
	c.ws.Close()
}

// Long-poll.

type pollClient struct {
	base   string
	mu     sync.Mutex
	sid    string
	rid    uint64
	ack    uint64                     // highest frame number taken
	early  map[uint64]json.RawMessage // frames past a gap
	frames chan []byte
	stop   chan struct{}
	done   chan struct{}
	ctx    context.Context // cancelled to cut every request
	cancel context.CancelFunc
}

// post sends one request and takes the frames of its answer, in order and
// once each.
func (c *pollClient) post(t *testing.T, body map[string]any) (map[string]json.RawMessage, int) {
	t.Helper()
	b, _ := json.Marshal(body)
	ctx := c.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	req, _ := http.NewRequestWithContext(ctx, "POST", c.base+"/poll", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			t.Errorf("poll: %v", err)
		}
		return nil, 0
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Errorf("poll answer %s: %v", raw, err)
		return nil, resp.StatusCode
	}
	c.take(t, m)
	return m, resp.StatusCode
}

func (c *pollClient) take(t *testing.T, m map[string]json.RawMessage) {
	var first uint64
	var frames []json.RawMessage
	_ = json.Unmarshal(m["first"], &first)
	_ = json.Unmarshal(m["frames"], &frames)
	c.mu.Lock()
	defer c.mu.Unlock()
	// Answers to two requests may arrive in either order: keep frames past
	// a gap until it is filled, and take each number once, in order.
	if c.early == nil {
		c.early = make(map[uint64]json.RawMessage)
	}
	for i, f := range frames {
		if n := first + uint64(i); n > c.ack {
			c.early[n] = f
		}
	}
	for {
		f, ok := c.early[c.ack+1]
		if !ok {
			return
		}
		delete(c.early, c.ack+1)
		c.ack++
		c.frames <- f
	}
}

func (c *pollClient) nextRID() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rid++
	return c.rid
}

func loginPoll(t *testing.T, base string, login string) *pollClient {
	t.Helper()
	c, m, status := startPoll(t, base, login, 0)
	if status != http.StatusOK {
		t.Fatalf("login: %d %v", status, m)
	}
	return c
}

// loop polls until stopped or answered with other than 200.
func (c *pollClient) loop(t *testing.T) {
	defer close(c.done)
	for {
		select {
		case <-c.stop:
			return
		default:
		}
		c.mu.Lock()
		ack := c.ack
		c.mu.Unlock()
		if _, status := c.post(t, map[string]any{"sid": c.sid, "rid": c.nextRID(), "ack": ack}); status != http.StatusOK {
			return
		}
	}
}

// cut stops polling as a network drop would: the poll held is cut, and no
// close is posted.
func (c *pollClient) cut() {
	select {
	case <-c.stop:
		return
	default:
	}
	close(c.stop)
	c.cancel()
	<-c.done
}

func (c *pollClient) send(t *testing.T, frame string) {
	t.Helper()
	c.mu.Lock()
	ack := c.ack
	c.mu.Unlock()
	if m, status := c.post(t, map[string]any{"sid": c.sid, "rid": c.nextRID(), "ack": ack, "frames": []json.RawMessage{json.RawMessage(frame)}}); status != http.StatusOK {
		for len(c.frames) > 0 {
			t.Logf("pending %s", <-c.frames)
		}
		t.Fatalf("send: %d %s", status, m["error"])
	}
}

func (c *pollClient) next(t *testing.T) frameOf {
	t.Helper()
	select {
	case b := <-c.frames:
		return decode(t, b)
	case <-time.After(frameTimeout):
		c.mu.Lock()
		rid, ack := c.rid, c.ack
		c.mu.Unlock()
		t.Fatalf("no frame (rid %d, ack %d)", rid, ack)
	}
	return frameOf{}
}

func (c *pollClient) close() {
	select {
	case <-c.stop:
		return
	default:
	}
	close(c.stop)
	b, _ := json.Marshal(map[string]any{"sid": c.sid, "rid": c.nextRID(), "frames": []json.RawMessage{json.RawMessage(`{"kind":"close"}`)}})
	if resp, err := http.Post(c.base+"/poll", "application/json", bytes.NewReader(b)); err == nil {
		resp.Body.Close()
	}
	<-c.done
}

// Server-Sent Events.

type sseClient struct {
	base   string
	sid    string
	mu     sync.Mutex
	rid    uint64
	last   uint64
	frames chan []byte
	resp   *http.Response
	ended  chan struct{}
}

func loginSSE(t *testing.T, base, login string) *sseClient {
	t.Helper()
	c := &sseClient{base: base, rid: 1, frames: make(chan []byte, 1024)}
	resp, err := http.Post(base+"/send", "application/json", strings.NewReader(`{"rid":1,"frames":[`+login+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var m struct {
		SID    string
		First  uint64
		Frames []json.RawMessage
	}
	if err := json.Unmarshal(raw, &m); err != nil || resp.StatusCode != 200 {
		t.Fatalf("login: %d %s", resp.StatusCode, raw)
	}
	c.sid = m.SID
	for i, f := range m.Frames {
		c.last = m.First + uint64(i)
		c.frames <- f
	}
	c.connect(t, "")
	t.Cleanup(c.close)
	return c
}

// connect opens the events stream, resuming after lastID if set.
func (c *sseClient) connect(t *testing.T, lastID string) {
	t.Helper()
	req, _ := http.NewRequest("GET", c.base+"/events?sid="+c.sid, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	c.resp = resp
	c.ended = make(chan struct{})
	go func(ended chan struct{}) {
		defer close(ended)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var id uint64
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				id, _ = strconv.ParseUint(line[4:], 10, 64)
			case strings.HasPrefix(line, "data: "):
				c.mu.Lock()
				if id != c.last+1 {
					t.Errorf("event %d after %d", id, c.last)
				}
				c.last = id
				c.mu.Unlock()
				c.frames <- []byte(line[6:])
			}
		}
	}(c.ended)
}

// drop cuts the events stream, as a network would.
func (c *sseClient) drop() {
	c.resp.Body.Close()
	<-c.ended
}

func (c *sseClient) post(t *testing.T, frames string) {
	t.Helper()
	c.mu.Lock()
	c.rid++
	body := fmt.Sprintf(`{"sid":%q,"rid":%d,"ack":%d,"frames":[%s]}`, c.sid, c.rid, c.last, frames)
	c.mu.Unlock()
	resp, err := http.Post(c.base+"/send", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("send: %d %s", resp.StatusCode, raw)
	}
}

func (c *sseClient) send(t *testing.T, frame string) { t.Helper(); c.post(t, frame) }

// ack acknowledges every event read so far, as a page does from time to
// time: a post with no frames. A failure is the session's end, which the
// test sees in what it reads.
func (c *sseClient) ack() {
	c.mu.Lock()
	c.rid++
	body := fmt.Sprintf(`{"sid":%q,"rid":%d,"ack":%d,"frames":[]}`, c.sid, c.rid, c.last)
	c.mu.Unlock()
	if resp, err := http.Post(c.base+"/send", "application/json", strings.NewReader(body)); err == nil {
		resp.Body.Close()
	}
}

func (c *sseClient) next(t *testing.T) frameOf {
	t.Helper()
	select {
	case b := <-c.frames:
		c.ack()
		return decode(t, b)
	case <-time.After(frameTimeout):
		t.Fatal("no frame")
	}
	return frameOf{}
}

func (c *sseClient) close() {
	body := fmt.Sprintf(`{"sid":%q,"rid":%d,"frames":[{"kind":"close"}]}`, c.sid, c.rid+1)
	if resp, err := http.Post(c.base+"/send", "application/json", strings.NewReader(body)); err == nil {
		resp.Body.Close()
	}
	c.drop()
}

func login(user string) string {
	return fmt.Sprintf(`{"kind":"login","jid":"%s@localhost","password":"secret","resource":"t","id":"l1"}`, user)
}

// open logs user in over transport, sends initial presence and waits for
// the server to echo it: from then on the server delivers messages to the
// session rather than storing them offline.
func open(t *testing.T, base, transport, user string) client {
	t.Helper()
	c := loginOver(t, base, transport, user)
	c.send(t, `{"kind":"presence"}`)
	for {
		if f := nextKind(t, c, "presence"); f.From == user+"@localhost/t" {
			return c
		}
	}
}

// loginOver logs user in over transport.
func loginOver(t *testing.T, base, transport, user string) client {
	t.Helper()
	var c client
	switch transport {
	case "websocket":
		ws := dialWS(t, base)
		ws.send(t, login(user))
		c = ws
	case "poll":
		c = loginPoll(t, base, login(user))
	case "sse":
		c = loginSSE(t, base, login(user))
	}
	s := c.next(t)
	if s.Kind != "session" || s.JID != user+"@localhost/t" || s.ID != "l1" {
		t.Fatalf("login answer: %s", s.raw)
	}
	return c
}

// exchange sends n messages each way between a and b and checks that each
// arrives once, in order, intact.
func exchange(t *testing.T, a client, aUser string, b client, bUser string, n int) {
	t.Helper()
	text := func(from string, i int) string {
		return fmt.Sprintf("%s → %d <&> \"quoted\" 'ü' 😀", from, i)
	}
	for i := range n {
		a.send(t, fmt.Sprintf(`{"kind":"message","type":"chat","to":"%s@localhost","body":%q}`, bUser, text(aUser, i)))
		b.send(t, fmt.Sprintf(`{"kind":"message","type":"chat","to":"%s@localhost","body":%q}`, aUser, text(bUser, i)))
	}
	for i := range n {
		if f := nextBody(t, b); f.Body != text(aUser, i) || !strings.HasPrefix(f.From, aUser+"@localhost/") {
			t.Fatalf("%s got %s, want body %q", bUser, f.raw, text(aUser, i))
		}
		if f := nextBody(t, a); f.Body != text(bUser, i) || !strings.HasPrefix(f.From, bUser+"@localhost/") {
			t.Fatalf("%s got %s, want body %q", aUser, f.raw, text(bUser, i))
		}
	}
}

// page is a web page that keeps its resume token, as the JS client does in
// sessionStorage, and the number of the latest frame it has.
type page struct {
	c     client
	jid   string
	token string
}

// loginPage logs user in over transport and sends initial presence (the
// page's frame 1), and waits for its echo.
func loginPage(t *testing.T, base, transport, user string) *page {
	t.Helper()
	p := &page{}
	var f frameOf
	switch transport {
	case "websocket":
		ws := dialWS(t, base)
		ws.send(t, login(user))
		p.c, f = ws, ws.next(t)
	case "poll":
		c, m, status := startPoll(t, base, login(user), 0)
		if status != http.StatusOK {
			t.Fatalf("login: %d %v", status, m)
		}
		p.c, f = c, c.next(t)
	case "sse":
		c, m, status := startSSE(t, base, login(user), 0)
		if status != http.StatusOK {
			t.Fatalf("login: %d %s", status, m)
		}
		p.c, f = c, c.next(t)
	}
	if f.Kind != "session" || f.Token == "" {
		t.Fatalf("login answer: %s", f.raw)
	}
	p.jid, p.token = f.JID, f.Token
	p.c.send(t, `{"kind":"presence"}`)
	for {
		// The echo: from now on messages come to the session.
		if f := nextKind(t, p.c, "presence"); f.From == p.jid {
			return p
		}
	}
}

// last is the number of the latest frame the page has.
func (p *page) last() uint64 {
	switch c := p.c.(type) {
	case *wsClient:
		return c.n
	case *pollClient:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.ack
	case *sseClient:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.last
	}
	return 0
}

// cut drops the page's connection as a network would: no close frame, no
// close post.
func (p *page) cut(t *testing.T) {
	t.Helper()
	switch c := p.c.(type) {
	case *wsClient:
		c.cut(t)
	case *pollClient:
		c.cut()
	case *sseClient:
		c.drop()
		c.sid = "" // its cleanup's close goes nowhere
	}
}

// resume continues the page's session over transport, after its latest
// frame, and returns the answer: the resumed frame, or an error frame.
func (p *page) resume(t *testing.T, base, transport string) frameOf {
	t.Helper()
	f, c := resumeOver(t, base, transport, p.token, p.last())
	if f.Kind == "resumed" {
		p.c, p.token = c, f.Token
	}
	return f
}

func resumeFrame(token string, last uint64) string {
	return fmt.Sprintf(`{"kind":"resume","token":%q,"last":%d,"id":"r1"}`, token, last)
}

// resumeOver sends a resume over a new connection of transport and
// returns its answer, and the connection when it resumed.
func resumeOver(t *testing.T, base, transport, token string, last uint64) (frameOf, client) {
	t.Helper()
	switch transport {
	case "websocket":
		ws := dialWS(t, base)
		ws.send(t, resumeFrame(token, last))
		return ws.next(t), ws
	case "poll":
		c, m, status := startPoll(t, base, resumeFrame(token, last), last)
		if status != http.StatusOK {
			b, _ := json.Marshal(m) // the error frame
			return decode(t, b), nil
		}
		return decode(t, m["resumed"]), c
	default:
		c, m, status := startSSE(t, base, resumeFrame(token, last), last)
		if status != http.StatusOK {
			b, _ := json.Marshal(m) // the error frame
			return decode(t, b), nil
		}
		return decode(t, m["resumed"]), c
	}
}

// cut closes the WebSocket's TCP connection under it.
func (c *wsClient) cut(t *testing.T) {
	t.Helper()
	c.ws.UnderlyingConn().Close()
	select {
	case <-c.closed:
	case <-time.After(frameTimeout):
		t.Fatal("the cut WebSocket did not end")
	}
}

// startPoll posts first (a login or a resume) as the first request of a
// long-poll session, with the page having every frame up to ack, and on
// success polls on. It returns the answer: on a refusal, the error frame.
func startPoll(t *testing.T, base, first string, ack uint64) (*pollClient, map[string]json.RawMessage, int) {
	t.Helper()
	c := &pollClient{base: base, rid: 4000, ack: ack, frames: make(chan []byte, 1024), stop: make(chan struct{}), done: make(chan struct{})}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	m, status := c.post(t, map[string]any{"rid": c.nextRID(), "wait": 5, "frames": []json.RawMessage{json.RawMessage(first)}})
	if status != http.StatusOK {
		return nil, m, status
	}
	_ = json.Unmarshal(m["sid"], &c.sid)
	go c.loop(t)
	t.Cleanup(c.close)
	return c, m, status
}

// startSSE posts first (a login or a resume) as the first post of an
// events session, with the page having every frame up to last, and on
// success opens the events stream.
func startSSE(t *testing.T, base, first string, last uint64) (*sseClient, map[string]json.RawMessage, int) {
	t.Helper()
	c := &sseClient{base: base, rid: 1, last: last, frames: make(chan []byte, 1024)}
	resp, err := http.Post(base+"/send", "application/json", strings.NewReader(`{"rid":1,"frames":[`+first+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("answer %d %s: %v", resp.StatusCode, raw, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, m, resp.StatusCode
	}
	_ = json.Unmarshal(m["sid"], &c.sid)
	var in struct {
		First  uint64
		Frames []json.RawMessage
	}
	_ = json.Unmarshal(raw, &in)
	for i, f := range in.Frames {
		c.last = in.First + uint64(i)
		c.frames <- f
	}
	c.connect(t, "")
	t.Cleanup(c.close)
	return c, m, resp.StatusCode
}

// roundTrip makes sure that what c sent before has reached the server and come
// back through it: a ping to the server, answered.
func roundTrip(t *testing.T, c client) {
	t.Helper()
	c.send(t, `{"kind":"iq","type":"get","id":"sync","to":"localhost","payload":[{"name":"ping","xmlns":"urn:xmpp:ping"}]}`)
	nextKind(t, c, "iq")
}

func chat(to, body string) string {
	return fmt.Sprintf(`{"kind":"message","type":"chat","to":"%s@localhost","body":%q}`, to, body)
}
