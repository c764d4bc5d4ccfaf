package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fakeServer is a tiny XMPP-over-WebSocket server: PLAIN for anyone, bind,
// and messages routed to the full JID in their to attribute.
type fakeServer struct {
	mu    sync.Mutex
	conns map[string]*fakeConn
}

type fakeConn struct {
	mu sync.Mutex // one writer at a time
	c  *websocket.Conn
}

func (f *fakeConn) write(s []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.c.WriteMessage(websocket.TextMessage, s)
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	up := websocket.Upgrader{Subprotocols: []string{"xmpp"}}
	c, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	fc := &fakeConn{c: c}
	var user string
	authed := false
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			return
		}
		switch {
		case bytes.HasPrefix(b, []byte("<open")):
			fc.write([]byte(`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" from="localhost" id="x" version="1.0"/>`))
			if authed {
				fc.write([]byte(`<stream:features xmlns:stream="http://etherx.jabber.org/streams"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"/></stream:features>`))
			} else {
				fc.write([]byte(`<stream:features xmlns:stream="http://etherx.jabber.org/streams"><mechanisms xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><mechanism>PLAIN</mechanism></mechanisms></stream:features>`))
			}
		case bytes.HasPrefix(b, []byte("<auth")):
			cred, _ := textOf(b, `auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN"`)
			dec, _ := base64.StdEncoding.DecodeString(cred)
			user = strings.Split(string(dec), "\x00")[1]
			authed = true
			fc.write([]byte(`<success xmlns="urn:ietf:params:xml:ns:xmpp-sasl"/>`))
		case bytes.HasPrefix(b, []byte("<iq")):
			jid := user + "@localhost/load"
			f.mu.Lock()
			f.conns[jid] = fc
			f.mu.Unlock()
			fc.write([]byte(`<iq xmlns="jabber:client" type="result" id="b"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><jid>` + jid + `</jid></bind></iq>`))
		case bytes.HasPrefix(b, []byte("<message")):
			i := bytes.Index(b, []byte(`to="`)) + 4
			to := string(b[i : i+bytes.IndexByte(b[i:], '"')])
			f.mu.Lock()
			dst := f.conns[to]
			f.mu.Unlock()
			if dst != nil {
				dst.write(b)
			}
		case bytes.HasPrefix(b, []byte("<close")):
			fc.write([]byte(`<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>`))
			return
		}
	}
}

func TestLoadAgainstFakeServer(t *testing.T) {
	srv := httptest.NewServer(&fakeServer{conns: map[string]*fakeConn{}})
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	base := loadConfig{
		n: 12, rate: 400, duration: 300 * time.Millisecond, hold: 10 * time.Millisecond, drain: 2 * time.Second,
		userFlags: userFlags{domain: "localhost", prefix: "u", password: "secret", sources: 2, concurrency: 4}, senders: 2,
		ramp: rampConfig{start: 100, factor: 2, max: 400, refine: 1, step: 200 * time.Millisecond, bound: time.Second},
	}
	tests := []struct {
		name   string
		change func(*loadConfig)
	}{
		{"mixed", func(*loadConfig) {}},
		{"each", func(c *loadConfig) { c.each = true }},
		{"ramp", func(c *loadConfig) { c.rampOn = true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base
			tt.change(&c)
			specs := []pathSpec{{name: "a", kind: "ws", url: url}, {name: "b", kind: "ws", url: url}}
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
			var sent int64
			for _, p := range r.Paths {
				if p.Established != 6 || p.Held != 6 {
					t.Errorf("%s: established %d, held %d, want 6, 6 (%s)", p.Path, p.Established, p.Held, p.FirstError)
				}
				if p.Lost != 0 || p.Reordered != 0 || p.Received != p.Sent || p.Latency.N != int(p.Sent) {
					t.Errorf("%s: sent %d received %d lost %d reordered %d latencies %d", p.Path, p.Sent, p.Received, p.Lost, p.Reordered, p.Latency.N)
				}
				sent += p.Sent
				switch {
				case c.each && (p.Phase == nil || p.Phase.Messages == 0 || p.Phase.Lost != 0):
					t.Errorf("%s: phase %+v, want messages and none lost", p.Path, p.Phase)
				case c.rampOn && (p.Ramp == nil || len(p.Ramp.Steps) == 0):
					t.Errorf("%s: no ramp steps", p.Path)
				case c.rampOn:
					// The fake server keeps up with these rates; only a
					// stall of the test machine could fail a step.
					var stepSent int64
					for _, st := range p.Ramp.Steps {
						stepSent += st.Messages
					}
					if stepSent != p.Sent {
						t.Errorf("%s: steps sent %d, the path %d", p.Path, stepSent, p.Sent)
					}
				}
			}
			if sent == 0 {
				t.Error("no messages sent")
			}
			var b strings.Builder
			writeTable(&b, r)
			if !strings.Contains(b.String(), "| a |") {
				t.Errorf("table without path a:\n%s", b.String())
			}
		})
	}
}

func TestLoadFDs(t *testing.T) {
	ws := pathSpec{kind: "ws"}
	bosh := pathSpec{kind: "bosh"}
	tests := []struct {
		name  string
		n     int
		specs []pathSpec
		want  int
	}{
		{"websocket only", 10, []pathSpec{ws, ws}, 10},
		{"bosh only", 10, []pathSpec{bosh}, 20},
		{"four paths", 2000, []pathSpec{ws, ws, bosh, bosh}, 3000},
		{"uneven deal", 5, []pathSpec{bosh, ws}, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := loadFDs(tt.n, tt.specs); got != tt.want {
				t.Errorf("loadFDs(%d) = %d, want %d", tt.n, got, tt.want)
			}
		})
	}
}
