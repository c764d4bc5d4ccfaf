//go:build integration

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
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/httphold"
	"github.com/xmppbridge/xmppbridge/internal/testbed"
	"github.com/xmppbridge/xmppbridge/internal/testpeer"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// These tests run every JSON transport through the bridge to a real
// Prosody (scripts/testbed.sh): users alice, bob and carol, password
// "secret", on domain localhost.

var prosody *testbed.Prosody

func TestMain(m *testing.M) {
	p, stop, err := testbed.StartMain()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	prosody = p
	code := m.Run()
	stop()
	os.Exit(code)
}

const prebindSecret = "a-secret-of-the-web-app"

// serve runs a Handler in front of the test Prosody and returns its base
// URL (http://…/json).
func serve(t *testing.T, cfg Config) (string, *Handler) {
	t.Helper()
	hub := bridge.New(bridge.Config{Upstream: func(domain string) (xmppclient.Config, error) {
		return xmppclient.Config{Domain: domain, Addr: prosody.C2SAddr, Security: xmppclient.Plaintext}, nil
	}})
	cfg.Hub = hub
	if cfg.PrebindSecret == "" {
		cfg.PrebindSecret = prebindSecret
	}
	h := New(cfg)
	mux := http.NewServeMux()
	mux.Handle("/json/", h)
	// As cmd/xmppbridge serves: held requests are taken over (httphold).
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener = httphold.Attach(srv.Config, srv.Listener, 0)
	srv.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := hub.Shutdown(ctx); err != nil {
			t.Errorf("hub shutdown: %v", err)
		}
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("json shutdown: %v", err)
		}
		srv.Close()
	})
	return srv.URL + "/json", h
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

// TestTransports: two users on each transport (and across transports)
// log in through the bridge and chat.
func TestTransports(t *testing.T) {
	for _, pair := range [][2]string{
		{"websocket", "websocket"}, {"poll", "poll"}, {"sse", "sse"}, {"websocket", "poll"}, {"sse", "websocket"},
	} {
		t.Run(pair[0]+"-"+pair[1], func(t *testing.T) {
			base, _ := serve(t, Config{Wait: 5 * time.Second})
			a := open(t, base, pair[0], "alice")
			b := open(t, base, pair[1], "bob")
			exchange(t, a, "alice", b, "bob", 10)
		})
	}
}

// TestWebSocketErrors: bad frames get error frames and the connection stays
// up; a close is answered and the WebSocket closes with 1000.
func TestWebSocketErrors(t *testing.T) {
	base, _ := serve(t, Config{})
	a := open(t, base, "websocket", "alice").(*wsClient)
	for _, tt := range []struct{ frame, code, id string }{
		{`{not json`, "bad-json", ""},
		{`{"kind":"telegram","id":"x1"}`, "unknown-kind", "x1"},
		{`{"kind":"login","jid":"alice@localhost","password":"secret","id":"x2"}`, "already-logged-in", "x2"},
	} {
		a.send(t, tt.frame)
		if f := nextKind(t, a, "error"); f.Code != tt.code || f.ID != tt.id {
			t.Errorf("%s: %s", tt.frame, f.raw)
		}
	}
	// Still up: a ping to the server is answered.
	a.send(t, `{"kind":"iq","type":"get","id":"p1","to":"localhost","payload":[{"name":"ping","xmlns":"urn:xmpp:ping"}]}`)
	if f := nextKind(t, a, "iq"); f.ID != "p1" || f.Type != "result" {
		t.Fatalf("ping: %s", f.raw)
	}
	a.send(t, `{"kind":"close"}`)
	if f := nextKind(t, a, "close"); f.Code != "normal" {
		t.Fatalf("close: %s", f.raw)
	}
	if code := <-a.closed; code != websocket.CloseNormalClosure {
		t.Fatalf("close code %d", code)
	}
}

// TestWrongPassword: refused credentials get not-authorized, then close,
// on every transport.
func TestWrongPassword(t *testing.T) {
	base, h := serve(t, Config{})
	bad := `{"kind":"login","jid":"alice@localhost","password":"wrong","id":"l9"}`

	ws := dialWS(t, base)
	ws.send(t, bad)
	if f := ws.next(t); f.Kind != "error" || f.Code != "not-authorized" || f.Type != "auth" || f.ID != "l9" {
		t.Fatalf("error: %s", f.raw)
	}
	if f := ws.next(t); f.Kind != "close" || f.Code != "not-authorized" {
		t.Fatalf("close: %s", f.raw)
	}
	if code := <-ws.closed; code != websocket.ClosePolicyViolation {
		t.Fatalf("close code %d", code)
	}

	for _, ep := range []string{"/poll", "/send"} {
		resp, err := http.Post(base+ep, "application/json", strings.NewReader(`{"rid":5,"frames":[`+bad+`]}`))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if f := decode(t, raw); resp.StatusCode != 401 || f.Code != "not-authorized" {
			t.Fatalf("%s: %d %s", ep, resp.StatusCode, raw)
		}
	}
	if h.Len() != 0 {
		t.Fatalf("%d sessions left", h.Len())
	}
}

// TestPollResend: a lost answer is recovered by sending its rid again,
// and the frames of a repeated request are not sent upstream twice.
func TestPollResend(t *testing.T) {
	base, _ := serve(t, Config{Wait: 5 * time.Second})
	bob := open(t, base, "websocket", "bob")

	c := &pollClient{base: base, rid: 100, frames: make(chan []byte, 1024)}
	m, _ := c.post(t, map[string]any{"rid": c.nextRID(), "frames": []json.RawMessage{json.RawMessage(login("alice"))}})
	_ = json.Unmarshal(m["sid"], &c.sid)
	if f := c.next(t); f.Kind != "session" {
		t.Fatalf("login: %s", f.raw)
	}
	c.post(t, map[string]any{"sid": c.sid, "rid": c.nextRID(), "ack": c.ack, "frames": []json.RawMessage{json.RawMessage(`{"kind":"presence"}`)}})

	// A request carrying a message, whose answer (holding bob's reply) is
	// lost on the way back.
	bob.send(t, `{"kind":"message","type":"chat","to":"alice@localhost","body":"for alice"}`)
	rid, ack := c.nextRID(), c.ack
	req := map[string]any{"sid": c.sid, "rid": rid, "ack": ack, "frames": []json.RawMessage{
		json.RawMessage(`{"kind":"message","type":"chat","to":"bob@localhost","body":"once"}`)}}
	lost := &pollClient{base: base, frames: make(chan []byte, 1024), ack: ack}
	lostAnswer, _ := lost.post(t, req) // its frames go nowhere
	var lostFrames []json.RawMessage
	_ = json.Unmarshal(lostAnswer["frames"], &lostFrames)
	if len(lostFrames) == 0 {
		t.Fatalf("the request was answered empty: %v", lostAnswer)
	}
	// The resend of the same rid brings every lost frame again.
	again, _ := c.post(t, req)
	var againFrames []json.RawMessage
	_ = json.Unmarshal(again["frames"], &againFrames)
	if string(again["first"]) != string(lostAnswer["first"]) || len(againFrames) < len(lostFrames) {
		t.Fatalf("lost %s %s, resent %s %s", lostAnswer["first"], lostAnswer["frames"], again["first"], again["frames"])
	}
	for i := range lostFrames {
		if !bytes.Equal(lostFrames[i], againFrames[i]) {
			t.Fatalf("frame %d differs: %s, then %s", i, lostFrames[i], againFrames[i])
		}
	}
	if f := nextBody(t, bob); f.Body != "once" {
		t.Fatalf("bob: %s", f.raw)
	}
	// The marker's request is held until something comes for alice: bob's
	// answer to it.
	held := make(chan struct{})
	go func() {
		defer close(held)
		c.post(t, map[string]any{"sid": c.sid, "rid": c.nextRID(), "ack": c.ack, "frames": []json.RawMessage{
			json.RawMessage(`{"kind":"message","type":"chat","to":"bob@localhost","body":"marker"}`)}})
	}()
	if f := nextBody(t, bob); f.Body != "marker" {
		t.Fatalf("bob got %q after the resend, want the marker: the repeated request was sent twice", f.Body)
	}
	bob.send(t, `{"kind":"message","type":"chat","to":"alice@localhost","body":"got it"}`)
	<-held
	// Log out having read everything, or the server keeps "got it" for
	// alice's next session.
	c.post(t, map[string]any{"sid": c.sid, "rid": c.nextRID(), "ack": c.ack, "frames": []json.RawMessage{json.RawMessage(`{"kind":"close"}`)}})
}

// TestEventsResume: a dropped events stream resumes from Last-Event-ID and
// loses nothing.
func TestEventsResume(t *testing.T) {
	base, _ := serve(t, Config{})
	alice := open(t, base, "sse", "alice").(*sseClient)
	bob := open(t, base, "websocket", "bob")
	bob.send(t, `{"kind":"message","type":"chat","to":"alice@localhost","body":"before"}`)
	if f := nextBody(t, alice); f.Body != "before" {
		t.Fatalf("before: %s", f.raw)
	}
	alice.drop()
	for i := range 5 {
		bob.send(t, fmt.Sprintf(`{"kind":"message","type":"chat","to":"alice@localhost","body":"while away %d"}`, i))
	}
	// Let them reach the bridge before the stream comes back.
	bob.send(t, `{"kind":"iq","type":"get","id":"sync","to":"localhost","payload":[{"name":"ping","xmlns":"urn:xmpp:ping"}]}`)
	nextKind(t, bob, "iq")
	alice.mu.Lock()
	last := strconv.FormatUint(alice.last, 10)
	alice.mu.Unlock()
	alice.connect(t, last)
	for i := range 5 {
		if f := nextBody(t, alice); f.Body != fmt.Sprintf("while away %d", i) {
			t.Fatalf("after resume: %s", f.raw)
		}
	}
}

// TestPrebindToken: a backend prebinds; the page redeems the token once,
// on any transport, and chats; a second redemption is refused.
func TestPrebindToken(t *testing.T) {
	base, _ := serve(t, Config{})
	prebind := func(t *testing.T, secret, body string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", base+"/prebind", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if status, m := prebind(t, prebindSecret, `{"jid":"alice@localhost","password":"wrong"}`); status != 401 || m["code"] != "not-authorized" {
		t.Fatalf("wrong password: %d %v", status, m)
	}
	for _, transport := range []string{"websocket", "poll", "sse"} {
		t.Run(transport, func(t *testing.T) {
			status, m := prebind(t, prebindSecret, `{"jid":"alice@localhost","password":"secret","resource":"pre"}`)
			tok, _ := m["token"].(string)
			if status != 200 || tok == "" || m["jid"] != "alice@localhost/pre" {
				t.Fatalf("prebind: %d %v", status, m)
			}
			redeem := fmt.Sprintf(`{"kind":"login","token":%q,"id":"r1"}`, tok)
			var a client
			switch transport {
			case "websocket":
				ws := dialWS(t, base)
				ws.send(t, redeem)
				a = ws
			case "poll":
				a = loginPoll(t, base, redeem)
			case "sse":
				a = loginSSE(t, base, redeem)
			}
			if f := a.next(t); f.Kind != "session" || f.JID != "alice@localhost/pre" || f.ID != "r1" {
				t.Fatalf("redeem: %s", f.raw)
			}
			a.send(t, `{"kind":"presence"}`)
			b := open(t, base, "websocket", "bob")
			exchange(t, a, "alice", b, "bob", 3)

			ws := dialWS(t, base)
			ws.send(t, redeem)
			if f := ws.next(t); f.Code != "bad-token" {
				t.Fatalf("second redemption: %s", f.raw)
			}
		})
	}
}

// TestShutdownTellsEveryTransport: at shutdown each transport hears
// system-shutdown as its last frame.
func TestShutdownTellsEveryTransport(t *testing.T) {
	base, h := serve(t, Config{Wait: 5 * time.Second})
	ws := open(t, base, "websocket", "alice")
	sse := open(t, base, "sse", "bob")
	poll := open(t, base, "poll", "carol")
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- h.Shutdown(ctx)
	}()
	for name, c := range map[string]client{"websocket": ws, "sse": sse, "poll": poll} {
		if f := nextKind(t, c, "close"); f.Code != "system-shutdown" {
			t.Errorf("%s: %s", name, f.raw)
		}
	}
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// TestSlowConsumer: a page whose unsent frames pass the bound loses its own
// session, with policy-violation, and nobody else's.
func TestSlowConsumer(t *testing.T) {
	base, _ := serve(t, Config{QueueBytes: 4096})
	// A user of its own: the server keeps what the page never read, for
	// its next session.
	prosody.AddUser(t, "slowpoke", "secret")
	alice := open(t, base, "sse", "slowpoke").(*sseClient)
	alice.drop()
	bob := open(t, base, "websocket", "bob")
	carol := open(t, base, "websocket", "carol")
	for i := range 40 {
		bob.send(t, fmt.Sprintf(`{"kind":"message","type":"chat","to":"slowpoke@localhost","body":"%d %s"}`, i, strings.Repeat("x", 200)))
	}
	bob.send(t, `{"kind":"iq","type":"get","id":"sync","to":"localhost","payload":[{"name":"ping","xmlns":"urn:xmpp:ping"}]}`)
	nextKind(t, bob, "iq")
	alice.mu.Lock()
	last := strconv.FormatUint(alice.last, 10)
	alice.mu.Unlock()
	alice.connect(t, last)
	if f := nextKind(t, alice, "close"); f.Code != "policy-violation" {
		t.Fatalf("alice: %s", f.raw)
	}
	exchange(t, bob, "bob", carol, "carol", 3)
}

// TestServerFaults: a third party makes Prosody relay stanzas that are not
// namespace-well-formed to a JSON user — offline, in presence, in
// messages — and the user gets them repaired and keeps the session, on
// every transport.
func TestServerFaults(t *testing.T) {
	for _, transport := range []string{"websocket", "sse", "poll"} {
		t.Run(transport, func(t *testing.T) {
			sender, receiver := "mallory-"+transport, "victim-"+transport
			prosody.AddUser(t, sender, testbed.Password)
			prosody.AddUser(t, receiver, testbed.Password)
			prosody.Friends(t, sender, receiver)
			base, _ := serve(t, Config{Wait: 5 * time.Second})
			testpeer.Poison(t, prosody, sender, receiver, func() *testpeer.Receiver {
				c := loginOver(t, base, transport, receiver)
				t.Cleanup(c.close)
				return &testpeer.Receiver{
					JSON: true,
					Send: func(_, frame string) { c.send(t, frame) },
					Next: func() (string, bool) {
						f := c.next(t) // fails the test after frameTimeout
						if f.Kind == "close" || f.Kind == "error" {
							t.Fatalf("%s frame: %s", f.Kind, f.raw)
						}
						return f.raw, true
					},
				}
			})
		})
	}
}
