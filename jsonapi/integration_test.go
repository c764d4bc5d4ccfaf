//go:build integration

package jsonapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xmppbridge/xmppbridge/internal/testbed"
	"github.com/xmppbridge/xmppbridge/internal/testpeer"
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
	upstream = func(*testing.T) string { return p.C2SAddr }
	addUser = func(t *testing.T, user string) { p.AddUser(t, user, "secret") }
	code := m.Run()
	stop()
	os.Exit(code)
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
