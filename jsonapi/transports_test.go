package jsonapi

// These tests run against the real Prosody under the integration tag
// (integration_test.go's TestMain), and otherwise against
// internal/fakexmpp's Router, so that go test ./... covers the package's
// logic of ordering, resends, slow consumers, resumes and shutdown.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

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
	addUser(t, "slowpoke")
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
	addUser(t, "overflow")
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
	// Alice's session goes once its WebSocket has closed.
	for deadline := time.Now().Add(frameTimeout); h.Len() != 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d sessions, want bob's and carol's", h.Len())
		}
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
