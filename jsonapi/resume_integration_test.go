//go:build integration

package jsonapi

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
)

// These tests resume JSON sessions (docs/json-api.md, "Resuming a
// session") through the bridge to the real Prosody: after real drops (the
// WebSocket's TCP connection closed, an HTTP request cut), across
// transports, and against forged, stale and racing tokens.

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
			a.stop(t, true)
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

// serveCrashable serves like serve; stop(t, true) then kills it.
func serveCrashable(t *testing.T, cfg Config) *testBridge {
	t.Helper()
	b := startBridge(t, cfg, upstream(t))
	t.Cleanup(func() { b.stop(t, true) })
	return b
}
