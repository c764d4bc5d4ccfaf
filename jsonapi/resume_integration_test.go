//go:build integration

package jsonapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/httphold"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// These tests resume JSON sessions (docs/json-api.md, "Resuming a
// session") through the bridge to the real Prosody: after real drops (the
// WebSocket's TCP connection closed, an HTTP request cut), across
// transports, and against forged, stale and racing tokens.

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

// TestResume: a page's connection drops while a contact writes to it; it
// resumes over the same or another transport, gets what came meanwhile
// once, keeps its resource, and learns that its own frames were taken.
func TestResume(t *testing.T) {
	for _, path := range [][2]string{
		{"websocket", "websocket"}, {"websocket", "sse"}, {"sse", "poll"}, {"poll", "websocket"}, {"poll", "poll"},
	} {
		t.Run(path[0]+"-"+path[1], func(t *testing.T) {
			base, h := serve(t, Config{Wait: 5 * time.Second, Inactivity: time.Second})
			bob := open(t, base, "websocket", "bob")
			alice := loginPage(t, base, path[0], "alice")

			bob.send(t, chat("alice", "before"))
			if f := nextBody(t, alice.c); f.Body != "before" {
				t.Fatalf("before: %s", f.raw)
			}
			alice.c.send(t, chat("bob", "from alice")) // her frame 2
			if f := nextBody(t, bob); f.Body != "from alice" {
				t.Fatalf("bob: %s", f.raw)
			}
			if ws, ok := alice.c.(*wsClient); ok {
				// Over a WebSocket the page learns what was confirmed
				// from ack frames: in answer to its own ack, and as the
				// server acknowledges its stanzas.
				ws.send(t, fmt.Sprintf(`{"kind":"ack","n":%d}`, ws.n))
				for f := nextKind(t, ws, "ack"); f.N != 2; f = nextKind(t, ws, "ack") {
					if f.N > 2 {
						t.Fatalf("ack: %s", f.raw)
					}
				}
			}
			alice.cut(t)
			for i := range 3 {
				bob.send(t, chat("alice", fmt.Sprintf("while away %d", i)))
			}
			roundTrip(t, bob)
			if n := h.Len(); n != 2 {
				t.Fatalf("%d sessions held while alice is away, want 2", n)
			}

			old, last := alice.token, alice.last()
			f := alice.resume(t, base, path[1])
			if f.Kind != "resumed" || f.JID != alice.jid || f.First != last+1 || f.Received != 2 || f.ID != "r1" || f.Token == "" || f.Token == old {
				t.Fatalf("resume after %d: %s", last, f.raw)
			}
			for i := range 3 {
				if f := nextBody(t, alice.c); f.Body != fmt.Sprintf("while away %d", i) {
					t.Fatalf("after the resume: %s", f.raw)
				}
			}
			// Nothing twice either way: the next bodies are new ones.
			exchange(t, alice.c, "alice", bob, "bob", 2)
		})
	}
}

// TestResumeTwice: a page resumes, drops again before reading anything,
// and resumes again with the newer token.
func TestResumeTwice(t *testing.T) {
	base, _ := serve(t, Config{})
	bob := open(t, base, "websocket", "bob")
	alice := loginPage(t, base, "websocket", "alice")
	roundTrip(t, alice.c)
	alice.cut(t)
	bob.send(t, chat("alice", "one"))
	roundTrip(t, bob)
	if f := alice.resume(t, base, "websocket"); f.Kind != "resumed" {
		t.Fatalf("first resume: %s", f.raw)
	}
	alice.cut(t) // before reading "one"
	bob.send(t, chat("alice", "two"))
	roundTrip(t, bob)
	if f := alice.resume(t, base, "websocket"); f.Kind != "resumed" {
		t.Fatalf("second resume: %s", f.raw)
	}
	for _, want := range []string{"one", "two"} {
		if f := nextBody(t, alice.c); f.Body != want {
			t.Fatalf("got %s, want %q", f.raw, want)
		}
	}
}

// TestResumeRefused: tokens forged, of another bridge, replaced or of an
// ended session, and a last ahead of what was sent, are refused with an
// error frame on every transport; the session, if any, stays as it was.
func TestResumeRefused(t *testing.T) {
	key := bytes.Repeat([]byte("k"), 32)
	base, _ := serve(t, Config{ResumeKey: key})
	otherBase, _ := serve(t, Config{}) // another key
	peerBase, _ := serve(t, Config{ResumeKey: key})

	alice := loginPage(t, base, "websocket", "alice")
	roundTrip(t, alice.c)
	first := alice.token
	alice.cut(t)
	if f := alice.resume(t, base, "websocket"); f.Kind != "resumed" {
		t.Fatalf("resume: %s", f.raw)
	}
	second := alice.token
	roundTrip(t, alice.c)
	alice.cut(t)
	if f := alice.resume(t, base, "websocket"); f.Kind != "resumed" {
		t.Fatalf("resume: %s", f.raw)
	}
	roundTrip(t, alice.c)
	forged := []byte(alice.token)
	forged[len(forged)/3] ^= 1

	carol := loginPage(t, base, "websocket", "carol")
	ended := carol.token
	carol.c.send(t, `{"kind":"close"}`)
	nextKind(t, carol.c, "close")

	for _, transport := range []string{"websocket", "poll", "sse"} {
		for _, c := range []struct {
			name, base, token string
			last              uint64
			code              string
		}{
			{"forged", base, string(forged), 0, "bad-token"},
			{"garbage", base, "not a token", 0, "bad-token"},
			{"other key", otherBase, alice.token, 0, "bad-token"},
			{"replaced long ago", base, first, 0, "bad-token"},
			{"replaced just now", base, second, 0, "conflict"},
			{"ended", base, ended, 0, "item-not-found"},
			{"not held here", peerBase, alice.token, 0, "item-not-found"},
			{"ahead", base, alice.token, 1000, "bad-request"},
		} {
			t.Run(transport+"/"+c.name, func(t *testing.T) {
				f, _ := resumeOver(t, c.base, transport, c.token, c.last)
				if f.Kind != "error" || f.Code != c.code || f.ID != "r1" {
					t.Fatalf("got %s, want error %s", f.raw, c.code)
				}
			})
		}
	}
	// Alice's own connection was not disturbed.
	exchange(t, alice.c, "alice", loginPage(t, base, "poll", "bob").c, "bob", 1)

	// A WebSocket whose resume was refused may log in instead.
	ws := dialWS(t, base)
	ws.send(t, resumeFrame(string(forged), 0))
	if f := ws.next(t); f.Code != "bad-token" {
		t.Fatalf("resume: %s", f.raw)
	}
	ws.send(t, login("carol"))
	if f := ws.next(t); f.Kind != "session" {
		t.Fatalf("login after a refused resume: %s", f.raw)
	}
}

// TestResumeRace: two connections resume one session at once: exactly one
// wins and gets what was waiting, once; the other hears conflict.
func TestResumeRace(t *testing.T) {
	base, _ := serve(t, Config{})
	bob := open(t, base, "websocket", "bob")
	alice := loginPage(t, base, "websocket", "alice")
	roundTrip(t, alice.c)
	alice.cut(t)
	bob.send(t, chat("alice", "waiting"))
	roundTrip(t, bob)

	var wg sync.WaitGroup
	answers := make([]frameOf, 2)
	conns := make([]client, 2)
	for i := range 2 {
		wg.Go(func() { answers[i], conns[i] = resumeOver(t, base, "websocket", alice.token, alice.last()) })
	}
	wg.Wait()
	won := -1
	for i, f := range answers {
		switch {
		case f.Kind == "resumed" && won < 0:
			won = i
		case f.Kind == "error" && f.Code == "conflict":
		default:
			t.Fatalf("answers %s and %s", answers[0].raw, answers[1].raw)
		}
	}
	if won < 0 {
		t.Fatalf("nobody won: %s, %s", answers[0].raw, answers[1].raw)
	}
	if f := nextBody(t, conns[won]); f.Body != "waiting" {
		t.Fatalf("winner: %s", f.raw)
	}
	loser := conns[1-won].(*wsClient)
	roundTrip(t, conns[won])
	select {
	case b := <-loser.frames:
		t.Fatalf("the loser got %s", b)
	default:
	}
}

// TestResumeTakesOver: a resume while the session's connection is still up
// (a second tab, a half-open connection) takes the session over: the old
// WebSocket hears conflict and closes with 1008, old polls get 409.
func TestResumeTakesOver(t *testing.T) {
	base, _ := serve(t, Config{Wait: 5 * time.Second})
	bob := open(t, base, "websocket", "bob")
	alice := loginPage(t, base, "websocket", "alice")
	roundTrip(t, alice.c)
	old := alice.c.(*wsClient)
	if f := alice.resume(t, base, "poll"); f.Kind != "resumed" {
		t.Fatalf("resume: %s", f.raw)
	}
	if f := nextKind(t, old, "error"); f.Code != "conflict" {
		t.Fatalf("old connection: %s", f.raw)
	}
	if code := <-old.closed; code != websocket.ClosePolicyViolation {
		t.Fatalf("old connection closed with %d", code)
	}
	exchange(t, alice.c, "alice", bob, "bob", 1)

	// And from long-poll to a WebSocket: the poll held gets 409.
	poll := alice.c.(*pollClient)
	if f := alice.resume(t, base, "websocket"); f.Kind != "resumed" {
		t.Fatalf("resume: %s", f.raw)
	}
	select {
	case <-poll.done: // its loop ends at a status other than 200
	case <-time.After(frameTimeout):
		t.Fatal("the old poll was not let go")
	}
	exchange(t, alice.c, "alice", bob, "bob", 1)
}

// TestDetachedOverflow: a detached session whose backlog passes the queue
// bound ends with policy-violation, alone, and its page hears so at the
// resume.
func TestDetachedOverflow(t *testing.T) {
	base, h := serve(t, Config{QueueBytes: 4096})
	// A user of its own: the server keeps what the page never read, for
	// its next session.
	prosody.AddUser(t, "overflow", "secret")
	alice := loginPage(t, base, "websocket", "overflow")
	roundTrip(t, alice.c)
	alice.cut(t)
	bob := open(t, base, "websocket", "bob")
	carol := open(t, base, "websocket", "carol")
	for i := range 40 {
		bob.send(t, chat("overflow", fmt.Sprintf("%d %s", i, strings.Repeat("x", 200))))
	}
	roundTrip(t, bob)
	if f := alice.resume(t, base, "websocket"); f.Kind != "resumed" {
		t.Fatalf("resume: %s", f.raw)
	}
	if f := nextKind(t, alice.c, "close"); f.Code != "policy-violation" {
		t.Fatalf("alice: %s", f.raw)
	}
	exchange(t, bob, "bob", carol, "carol", 3)
	if n := h.Len(); n != 2 {
		t.Fatalf("%d sessions, want bob's and carol's", n)
	}
}

// TestResumeWindow: a session whose page does not come back ends when the
// window closes; a long-poll page that stops polling is detached after
// the inactivity period, then ends the same way.
func TestResumeWindow(t *testing.T) {
	for _, transport := range []string{"websocket", "poll"} {
		t.Run(transport, func(t *testing.T) {
			base, h := serve(t, Config{Inactivity: time.Second, ResumeWindow: time.Second})
			alice := loginPage(t, base, transport, "alice")
			roundTrip(t, alice.c)
			alice.cut(t)
			deadline := time.Now().Add(frameTimeout)
			for h.Len() > 0 {
				if time.Now().After(deadline) {
					t.Fatal("the session outlived its resume window")
				}
				time.Sleep(50 * time.Millisecond)
			}
			if f := alice.resume(t, base, transport); f.Code != "item-not-found" {
				t.Fatalf("resume after the window: %s", f.raw)
			}
		})
	}
}

// TestNoResumption: with resume_window negative, a session frame has no
// token and a dropped WebSocket ends its session.
func TestNoResumption(t *testing.T) {
	base, h := serve(t, Config{ResumeWindow: -1})
	ws := dialWS(t, base)
	ws.send(t, login("alice"))
	if f := ws.next(t); f.Kind != "session" || f.Token != "" || strings.Contains(f.raw, "resume_window") {
		t.Fatalf("session: %s", f.raw)
	}
	ws.cut(t)
	deadline := time.Now().Add(frameTimeout)
	for h.Len() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the session outlived its WebSocket")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestResumeElsewhere: the bridge process that holds a session dies (its
// connections cut, its upstream stream dropped without a close) while a
// contact writes; the page resumes on another bridge that shares the
// resume key, with its counts, and gets what it had not, once; what it
// sent that the server had not confirmed reaches the contact once.
func TestResumeElsewhere(t *testing.T) {
	for _, transport := range []string{"websocket", "poll"} {
		t.Run(transport, func(t *testing.T) {
			key := bytes.Repeat([]byte("e"), 32)
			a := serveCrashable(t, Config{ResumeKey: key})
			bBase, bh := serve(t, Config{ResumeKey: key})
			prosody.AddUser(t, "wanderer", "secret")
			bob := open(t, bBase, "websocket", "bob")
			alice := loginPage(t, a.base, "websocket", "wanderer")
			ws := alice.c.(*wsClient)

			bob.send(t, chat("wanderer", "one"))
			if f := nextBody(t, ws); f.Body != "one" {
				t.Fatalf("one: %s", f.raw)
			}
			// What the page sent, numbered from 1 (the login is none).
			sent := []string{`{"kind":"presence"}`, chat("bob", "from the page")}
			ws.send(t, sent[1])
			if f := nextBody(t, bob); f.Body != "from the page" {
				t.Fatalf("bob: %s", f.raw)
			}
			ws.noAck = true
			bob.send(t, chat("wanderer", "two")) // read, never acknowledged
			if f := nextBody(t, ws); f.Body != "two" {
				t.Fatalf("two: %s", f.raw)
			}

			// Sent as the bridge dies: the server has it or not.
			sent = append(sent, chat("bob", "late"))
			ws.send(t, sent[2])
			a.crash(t)
			bob.send(t, chat("wanderer", "three")) // while no bridge holds the page
			// A round trip, taking note of "late" if it reached bob.
			bob.send(t, `{"kind":"iq","type":"get","id":"sync","to":"localhost","payload":[{"name":"ping","xmlns":"urn:xmpp:ping"}]}`)
			lateSeen := false
			for f := bob.next(t); f.Kind != "iq"; f = bob.next(t) {
				lateSeen = lateSeen || f.Body == "late"
			}

			resume := fmt.Sprintf(`{"kind":"resume","token":%q,"last":%d,"h":%d,"acked":{"n":%d,"h":%d},"id":"r1"}`,
				alice.token, ws.n, ws.h, ws.acked[0], ws.acked[1])
			var c client
			var f frameOf
			switch transport {
			case "websocket":
				nws := dialWS(t, bBase)
				nws.send(t, resume)
				c, f = nws, nws.next(t)
			case "poll":
				pc, m, status := startPoll(t, bBase, resume, ws.n)
				if status != http.StatusOK {
					t.Fatalf("resume: %d %v", status, m)
				}
				c, f = pc, decode(t, m["resumed"])
			}
			t.Logf("%s → %s", resume, f.raw)
			if f.Kind != "resumed" || f.JID != alice.jid || f.First != ws.n+1 {
				t.Fatalf("resume after %d: %s", ws.n, f.raw)
			}
			// What the bridge did not take, the page sends again; what the
			// server had of it is not sent twice.
			for _, frame := range sent[f.Received:] {
				c.send(t, frame)
			}
			if !lateSeen {
				if f := nextBody(t, bob); f.Body != "late" {
					t.Fatalf("bob: %s", f.raw)
				}
			}
			// Prosody marks it delayed, from the user's bare JID, as it does
			// stale ones, which nextBody skips.
			if f := nextKind(t, c, "message"); f.Body != "three" {
				t.Fatalf("after resume: %s (two must not come again)", f.raw)
			}
			exchange(t, c, "wanderer", bob, "bob", 2) // nothing else in between
			if n := bh.Len(); n != 2 {
				t.Fatalf("%d sessions on the second bridge, want 2", n)
			}
		})
	}
}

// crashable is a bridge that can die as a killed process does.
type crashable struct {
	base  string
	crash func(t *testing.T)
}

// serveCrashable serves like serve, and its crash cuts every browser
// connection at once and then drops every upstream stream without a
// close, as the death of the process would (the server keeps streams
// with stream management for resumption).
func serveCrashable(t *testing.T, cfg Config) crashable {
	t.Helper()
	hub := bridge.New(bridge.Config{Upstream: func(domain string) (xmppclient.Config, error) {
		return xmppclient.Config{Domain: domain, Addr: prosody.C2SAddr, Security: xmppclient.Plaintext}, nil
	}})
	cfg.Hub = hub
	h := New(cfg)
	mux := http.NewServeMux()
	mux.Handle("/json/", h)
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener = httphold.Attach(srv.Config, srv.Listener, 0)
	srv.Start()
	var once sync.Once
	crash := func(t *testing.T) {
		once.Do(func() {
			srv.CloseClientConnections()
			srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := hub.Shutdown(ctx); err != nil {
				t.Errorf("hub shutdown: %v", err)
			}
			_ = h.Shutdown(ctx)
		})
	}
	t.Cleanup(func() { crash(t) })
	return crashable{base: srv.URL + "/json", crash: crash}
}
