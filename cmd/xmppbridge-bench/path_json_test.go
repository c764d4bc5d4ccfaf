package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fakeJSONServer stands in for the bridge's JSON API over WebSocket: it
// logs anyone in whose password is "secret", echoes initial presence as
// the server does, and routes messages to the full JID in their to field,
// writing frames as the bridge does (compact, kind first, then type, from,
// to, body).
type fakeJSONServer struct {
	mu    sync.Mutex
	conns map[string]*fakeConn
}

// downFrame is a frame as the bridge writes it, fields in its order.
type downFrame struct {
	Kind string `json:"kind"`
	Type string `json:"type,omitempty"`
	Code string `json:"code,omitempty"`
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	JID  string `json:"jid,omitempty"`
	Body string `json:"body,omitempty"`
}

func (f *fakeJSONServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{Subprotocols: []string{jsonSubprotocol}}
	c, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	fc := &fakeConn{c: c}
	send := func(d downFrame) {
		b, _ := json.Marshal(d)
		fc.write(b)
	}
	var jid string
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			return
		}
		var up struct {
			Kind, JID, Password, Resource, To, Body string
		}
		if err := json.Unmarshal(b, &up); err != nil {
			send(downFrame{Kind: "error", Type: "modify", Code: "bad-json"})
			continue
		}
		switch {
		case jid == "" && up.Kind == "login" && up.Password == "secret":
			jid = up.JID + "/" + up.Resource
			f.mu.Lock()
			f.conns[jid] = fc
			f.mu.Unlock()
			send(downFrame{Kind: "session", JID: jid})
		case jid == "" && up.Kind == "login":
			send(downFrame{Kind: "error", Type: "auth", Code: "not-authorized"})
			send(downFrame{Kind: "close", Code: "not-authorized"})
			return
		case jid == "":
			send(downFrame{Kind: "error", Type: "modify", Code: "not-logged-in"})
		case up.Kind == "presence":
			send(downFrame{Kind: "presence", From: jid, To: jid})
		case up.Kind == "message":
			f.mu.Lock()
			dst := f.conns[up.To]
			f.mu.Unlock()
			if dst != nil {
				b, _ := json.Marshal(downFrame{Kind: "message", Type: "chat", From: jid, To: up.To, Body: up.Body})
				dst.write(b)
			}
		case up.Kind == "close":
			send(downFrame{Kind: "close", Code: "normal"})
			return
		}
	}
}

func newFakeJSONServer(t *testing.T) (url string) {
	srv := httptest.NewServer(&fakeJSONServer{conns: map[string]*fakeConn{}})
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

func TestJSONProbeRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		p    probe
	}{
		{"zero", probe{}},
		{"first", probe{seq: 1, sent: 1500 * time.Microsecond}},
		{"large", probe{seq: 1 << 40, sent: 10 * time.Hour}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := jsonSpelling{}.appendMessage(nil, "load1@localhost/load", tt.p)
			// What goes up must be a message the bridge can read.
			var f struct{ Kind, Type, To, Body string }
			if err := json.Unmarshal(up, &f); err != nil || f.Kind != "message" || f.Type != "chat" || f.To != "load1@localhost/load" {
				t.Fatalf("appendMessage = %s (%v)", up, err)
			}
			// What comes down is the bridge's translation of the message
			// the server delivers.
			down, _ := json.Marshal(downFrame{Kind: "message", Type: "chat", From: "load0@localhost/load", To: f.To, Body: f.Body})
			k, got, ok := jsonSpelling{}.inspect(down)
			if k != elemMessage || !ok || got != tt.p {
				t.Errorf("inspect(%s) = %v, %v, %v; want a message with %v", down, k, got, ok, tt.p)
			}
		})
	}
}

func TestJSONInspect(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		kind  elemKind
		probe bool
	}{
		{"message", `{"kind":"message","type":"chat","from":"a@localhost/load","to":"b@localhost/load","body":"3 12345"}`, elemMessage, true},
		{"message with more after the body", `{"kind":"message","id":"x","type":"chat","from":"a@localhost/load","to":"b@localhost/load","body":"3 12345","payload":[{"name":"stanza-id","xmlns":"urn:xmpp:sid:0","attrs":{"id":"a","by":"b"}}]}`, elemMessage, true},
		{"message without a probe", `{"kind":"message","type":"chat","body":"hello"}`, elemMessage, false},
		{"message with half a probe", `{"kind":"message","body":"12"}`, elemMessage, false},
		{"message with more in the body", `{"kind":"message","body":"12 34 5 6"}`, elemMessage, false},
		{"message without a body", `{"kind":"message","type":"chat","chat_state":"active"}`, elemMessage, false},
		{"presence", `{"kind":"presence","from":"a@localhost/load","to":"a@localhost/load"}`, elemOther, false},
		{"iq", `{"kind":"iq","type":"get","id":"p"}`, elemOther, false},
		{"messages, a kind that only starts like it", `{"kind":"messages"}`, elemOther, false},
		{"error", `{"kind":"error","type":"modify","code":"bad-value","text":"to"}`, elemEnd, false},
		{"close", `{"kind":"close","code":"policy-violation"}`, elemEnd, false},
		{"not a frame", `hello`, elemOther, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, _, ok := jsonSpelling{}.inspect([]byte(tt.frame))
			if k != tt.kind || ok != tt.probe {
				t.Errorf("inspect(%s) = %v, %v; want %v, %v", tt.frame, k, ok, tt.kind, tt.probe)
			}
		})
	}
}

func TestJSONLogin(t *testing.T) {
	url := newFakeJSONServer(t)
	xmpp := httptest.NewServer(&fakeServer{conns: map[string]*fakeConn{}})
	defer xmpp.Close()
	tests := []struct {
		name, url, password string
		wantJID, wantErr    string
	}{
		{"logged in", url, "secret", "u0@localhost/load", ""},
		{"refused", url, "wrong", "", "not-authorized"},
		{"not the JSON API", "ws" + strings.TrimPrefix(xmpp.URL, "http"), "secret", "", "subprotocol"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			p, err := newPath("bridge-json", "json", tt.url)
			if err != nil {
				t.Fatal(err)
			}
			var jid string
			st, err := p.Dial(ctx, net.IPv4(127, 0, 0, 1))
			if err == nil {
				defer st.Close()
				jid, err = login(ctx, st, "localhost", "u0", tt.password)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("login: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("login: %v, want an error with %q", err, tt.wantErr)
			case jid != tt.wantJID:
				t.Errorf("jid %q, want %q", jid, tt.wantJID)
			}
			if err != nil {
				return
			}
			// Initial presence went up as a frame: the server echoes it.
			st.(*jsonStream).c.SetReadDeadline(time.Now().Add(5 * time.Second))
			el, err := st.Recv()
			if err != nil || !strings.HasPrefix(string(el), `{"kind":"presence"`) {
				t.Errorf("after login: %s, %v; want the presence echoed", el, err)
			}
			if _, err := st.Open(ctx, "localhost"); err == nil {
				t.Error("Open on a JSON stream succeeded")
			}
		})
	}
}

func TestLoadOverJSON(t *testing.T) {
	url := newFakeJSONServer(t)
	base := loadConfig{
		n: 12, rate: 400, duration: 300 * time.Millisecond, hold: 10 * time.Millisecond, drain: 2 * time.Second,
		userFlags: userFlags{domain: "localhost", prefix: "u", password: "secret", sources: 2, concurrency: 4}, senders: 2,
		// The fake runs in this process: it stands in for the bridge's.
		bridgePID: os.Getpid(),
	}
	tests := []struct {
		name string
		each bool
	}{
		{"mixed", false},
		{"each", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			c.each = tt.each
			specs := []pathSpec{{name: "bridge-json", kind: "json", url: url, viaBridge: true}, {name: "other-json", kind: "json", url: url}}
			var paths []Path
			for _, s := range specs {
				p, err := newPath(s.name, s.kind, s.url)
				if err != nil {
					t.Fatal(err)
				}
				paths = append(paths, p)
			}
			r, err := runLoad(context.Background(), c, specs, paths)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range r.Paths {
				if p.Established != 6 || p.Held != 6 {
					t.Errorf("%s: established %d, held %d, want 6, 6 (%s)", p.Path, p.Established, p.Held, p.FirstError)
				}
				if p.Sent == 0 || p.Lost != 0 || p.Reordered != 0 || p.Received != p.Sent || p.Latency.N != int(p.Sent) {
					t.Errorf("%s: sent %d received %d lost %d reordered %d latencies %d", p.Path, p.Sent, p.Received, p.Lost, p.Reordered, p.Latency.N)
				}
				if (p.SetupCPU != nil) != tt.each {
					t.Errorf("%s: setup CPU %+v, want it with -each only", p.Path, p.SetupCPU)
				}
			}
			if r.Bridge == nil || r.Bridge.Sessions != 6 || r.Bridge.CPUPerSetupUs < 0 {
				t.Errorf("bridge %+v, want 6 sessions of the one bridge path", r.Bridge)
			}
			var b strings.Builder
			writeTable(&b, r)
			out := b.String()
			if !strings.Contains(out, "| bridge-json |") || !strings.Contains(out, "CPU per session set up") {
				t.Errorf("table:\n%s", out)
			}
			if tt.each && !strings.Contains(out, "bridge CPU per session set up") {
				t.Errorf("-each table without the per-path setup table:\n%s", out)
			}
		})
	}
}

func TestIdleOverJSON(t *testing.T) {
	url := newFakeJSONServer(t)
	c := idleConfig{name: "json", kind: "json", url: url, pid: os.Getpid(), n: 4, domain: "localhost", login: true,
		prefix: "u", password: "secret", sources: 2, concurrency: 2, timeout: time.Minute}
	r, err := runIdle(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if r.Sessions != 4 || r.Kind != "json" {
		t.Errorf("idle: %+v", r)
	}
}
