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
	c := loadConfig{
		n: 12, rate: 400, duration: 300 * time.Millisecond, hold: 10 * time.Millisecond, drain: 2 * time.Second,
		domain: "localhost", prefix: "u", password: "secret", sources: 2, concurrency: 4, senders: 2,
	}
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
	}
	if sent == 0 {
		t.Error("no messages sent")
	}
}
