package bridge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// recorder is a Transport that pulls on every wake, as a real one does,
// and hands the items to the test.
type recorder struct {
	s     *Session
	mu    sync.Mutex
	ready chan struct{}
	items chan Item
	hold  bool // never pull: a browser that does not read
}

func newRecorder() *recorder {
	return &recorder{ready: make(chan struct{}), items: make(chan Item, 1024)}
}

func (r *recorder) Wake() {
	if r.hold {
		return
	}
	go func() {
		<-r.ready
		// One puller at a time, as a transport's single writer.
		r.mu.Lock()
		defer r.mu.Unlock()
		for {
			items := r.s.Pull()
			if len(items) == 0 {
				return
			}
			for _, it := range items {
				r.items <- it
			}
		}
	}()
}

// Attach is called by Hub.Open before any Wake.
func (r *recorder) Attach(s *Session) {
	if r.s != nil {
		panic("Attach called twice")
	}
	r.s = s
	close(r.ready)
}

func (r *recorder) next(t *testing.T) Item {
	t.Helper()
	select {
	case it := <-r.items:
		return it
	case <-time.After(10 * time.Second):
		t.Fatal("no item from the session")
		return Item{}
	}
}

// nextEnd skips items until the session's end.
func (r *recorder) nextEnd(t *testing.T) *CloseError {
	t.Helper()
	for {
		if it := r.next(t); it.End != nil {
			return it.End
		}
	}
}

func plaintextTo(addr string) func(string) (xmppclient.Config, error) {
	return func(domain string) (xmppclient.Config, error) {
		return xmppclient.Config{Domain: domain, Addr: addr, Security: xmppclient.Plaintext}, nil
	}
}

func open(t *testing.T, h *Hub) (*Session, *recorder) {
	t.Helper()
	r := newRecorder()
	s, err := h.Open(context.Background(), OpenRequest{To: "localhost", Lang: "en"}, r)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s, r
}

func TestSessionRelaysInOrder(t *testing.T) {
	srv := fakexmpp.Start(t, fakexmpp.Echo)
	h := New(Config{Upstream: plaintextTo(srv.Addr)})
	s, r := open(t, h)

	if it := r.next(t); it.Kind != xmppclient.EventHeader || it.Header.ID != "s1" || it.Header.From != "localhost" {
		t.Fatalf("first item = %+v, want the server's header", it)
	}
	feat := r.next(t)
	if !strings.HasPrefix(string(feat.Data), "<stream:features") || !strings.Contains(feat.NS, "jabber:client") {
		t.Fatalf("features item = %q NS %q", feat.Data, feat.NS)
	}
	const n = 200
	for i := range n {
		if err := s.Send(fmt.Appendf(nil, "<message xmlns='jabber:client' id='m%d'><body>%d</body><x xmlns='urn:example:ext' a='1'/></message>", i, i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		it := r.next(t)
		want := fmt.Sprintf("<message xmlns='jabber:client' id='m%d'><body>%d</body><x xmlns='urn:example:ext' a='1'/></message>", i, i)
		if string(it.Data) != want {
			t.Fatalf("item %d = %q, want %q", i, it.Data, want)
		}
	}
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if it := r.next(t); it.Kind != xmppclient.EventHeader || it.Header.ID != "s2" {
		t.Fatalf("after restart got %+v, want header s2", it)
	}
	s.End(&CloseError{Reason: ReasonNormal})
	if e := r.nextEnd(t); e.Reason != ReasonNormal {
		t.Fatalf("end = %v, want normal", e)
	}
	waitLen(t, h, 0)
}

func TestSessionEnds(t *testing.T) {
	tests := []struct {
		name    string
		handler func(*fakexmpp.Conn)
		act     func(*Session)
		want    Reason
		cond    string
	}{
		{"server closes its stream", func(c *fakexmpp.Conn) {
			c.Open("x", fakexmpp.DefaultFeatures)
			c.Send("</stream:stream>")
			c.Read()
		}, nil, ReasonUpstreamClosed, ""},
		{"server drops the connection", func(c *fakexmpp.Conn) {
			c.Open("x", fakexmpp.DefaultFeatures)
		}, nil, ReasonUpstreamFailed, "remote-connection-failed"},
		{"server sends bad XML", func(c *fakexmpp.Conn) {
			c.Open("x", fakexmpp.DefaultFeatures+"<message><</message>")
			c.Read()
		}, nil, ReasonUpstreamFailed, "remote-connection-failed"},
		{"browser ends with a stream error", fakexmpp.Echo, func(s *Session) {
			s.End(&CloseError{Reason: ReasonNotWellFormed})
		}, ReasonNotWellFormed, "not-well-formed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakexmpp.Start(t, tt.handler)
			h := New(Config{Upstream: plaintextTo(srv.Addr)})
			s, r := open(t, h)
			if tt.act != nil {
				tt.act(s)
			}
			e := r.nextEnd(t)
			if e.Reason != tt.want || e.StreamCondition() != tt.cond {
				t.Fatalf("end = %v (condition %q), want %v (%q)", e, e.StreamCondition(), tt.want, tt.cond)
			}
			waitLen(t, h, 0)
		})
	}
}

func TestOpenFailures(t *testing.T) {
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}()
	tests := []struct {
		name     string
		upstream func(string) (xmppclient.Config, error)
		want     Reason
	}{
		{"nothing listens", plaintextTo(closed), ReasonRemoteConnectionFailed},
		{"domain refused", func(string) (xmppclient.Config, error) { return xmppclient.Config{}, errors.New("not served") }, ReasonHostUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := New(Config{Upstream: tt.upstream})
			r := newRecorder()
			_, err := h.Open(context.Background(), OpenRequest{To: "example.net"}, r)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if it := r.next(t); it.Kind != xmppclient.EventHeader || it.Header.From != "example.net" {
				t.Fatalf("first item = %+v, want the bridge's own header", it)
			}
			if e := r.nextEnd(t); e.Reason != tt.want {
				t.Fatalf("end = %v, want %v", e, tt.want)
			}
			if h.Len() != 0 {
				t.Fatalf("hub holds %d sessions", h.Len())
			}
		})
	}
}

func TestMaxSessions(t *testing.T) {
	srv := fakexmpp.Start(t, fakexmpp.Echo)
	h := New(Config{Upstream: plaintextTo(srv.Addr), MaxSessions: 1})
	open(t, h)
	r := newRecorder()
	_, err := h.Open(context.Background(), OpenRequest{To: "localhost"}, r)
	if err == nil {
		t.Fatal("second session accepted")
	}
	if e := r.nextEnd(t); e.Reason != ReasonResourceConstraint {
		t.Fatalf("end = %v", e)
	}
}

// A browser that reads nothing loses its own session, and only that one.
func TestSlowConsumerEndsOnlyItsSession(t *testing.T) {
	flood := strings.Repeat("<message><body>"+strings.Repeat("x", 1000)+"</body></message>", 64)
	srv := fakexmpp.Start(t, func(c *fakexmpp.Conn) {
		c.Open("f", fakexmpp.DefaultFeatures)
		for {
			it, err := c.Read()
			if err != nil || it.Kind == xmlsplit.KindClose {
				c.Send("</stream:stream>")
				return
			}
			if strings.Contains(it.Raw, "flood") {
				for range 40 {
					if c.Send(flood) != nil {
						return
					}
				}
			} else {
				c.Send(it.Raw)
			}
		}
	})
	h := New(Config{Upstream: plaintextTo(srv.Addr), QueueBytes: 256 << 10})

	slowR := newRecorder()
	slowR.hold = true
	slow, err := h.Open(context.Background(), OpenRequest{To: "localhost"}, slowR)
	if err != nil {
		t.Fatal(err)
	}
	fast, fastR := open(t, h)
	fastR.next(t) // header
	fastR.next(t) // features

	if err := slow.Send([]byte("<flood/>")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	var end *CloseError
	for end == nil && time.Now().Before(deadline) {
		for _, it := range slow.Pull() {
			if it.End != nil {
				end = it.End
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	if end == nil || end.Reason != ReasonSlowConsumer {
		t.Fatalf("slow session end = %v, want slow-consumer", end)
	}
	if err := fast.Send([]byte("<ping xmlns='urn:example'/>")); err != nil {
		t.Fatal(err)
	}
	if it := fastR.next(t); string(it.Data) != "<ping xmlns='urn:example'/>" {
		t.Fatalf("other session got %q", it.Data)
	}
}

func TestShutdown(t *testing.T) {
	srv := fakexmpp.Start(t, fakexmpp.Echo)
	h := New(Config{Upstream: plaintextTo(srv.Addr)})
	_, r1 := open(t, h)
	_, r2 := open(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, r := range []*recorder{r1, r2} {
		if e := r.nextEnd(t); e.Reason != ReasonShutdown || e.StreamCondition() != "system-shutdown" {
			t.Fatalf("end = %v", e)
		}
	}
	r := newRecorder()
	_, err := h.Open(context.Background(), OpenRequest{To: "localhost"}, r)
	if err == nil || r.nextEnd(t).Reason != ReasonShutdown {
		t.Fatalf("Open after Shutdown: %v", err)
	}
}

func waitLen(t *testing.T, h *Hub, n int) {
	t.Helper()
	for i := 0; h.Len() != n; i++ {
		if i > 500 {
			t.Fatalf("hub holds %d sessions, want %d", h.Len(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The upstream stream ends the way the browser's did: closed when the
// browser closed, or for a protocol error; left unclosed (the connection
// dropped) when the browser vanished, and when the bridge shuts down under
// a stream the server keeps for a resumption (XEP-0198).
func TestEndClosesUpstreamAsTheBrowserDid(t *testing.T) {
	for _, tt := range []struct {
		name      string
		reason    Reason
		resumable bool
		clean     bool // the server gets </stream:stream>
	}{
		{"browser closed", ReasonNormal, true, true},
		{"browser gone", ReasonGone, false, false},
		{"browser silent", ReasonConnectionTimeout, true, false},
		{"shutdown, not resumable", ReasonShutdown, false, true},
		{"shutdown, resumable", ReasonShutdown, true, false},
		{"browser broke the rules", ReasonPolicyViolation, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			closed := make(chan bool, 1)
			srv := fakexmpp.Start(t, func(c *fakexmpp.Conn) {
				if c.Open("s1", fakexmpp.DefaultFeatures) != nil {
					return
				}
				for {
					it, err := c.Read()
					if err != nil {
						closed <- false
						return
					}
					switch {
					case it.Kind == xmlsplit.KindClose:
						c.Send("</stream:stream>")
						closed <- true
						return
					case strings.Contains(it.Raw, "<enable "):
						c.Send("<enabled xmlns='urn:xmpp:sm:3' id='sm' resume='true'/>")
					}
				}
			})
			h := New(Config{Upstream: plaintextTo(srv.Addr)})
			s, r := open(t, h)
			r.next(t) // header
			r.next(t) // features
			if tt.resumable {
				if err := s.Send([]byte("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")); err != nil {
					t.Fatal(err)
				}
				if it := r.next(t); !strings.Contains(string(it.Data), "<enabled") {
					t.Fatalf("item %q", it.Data)
				}
			}
			s.End(&CloseError{Reason: tt.reason})
			select {
			case got := <-closed:
				if got != tt.clean {
					t.Fatalf("stream closed cleanly: %v, want %v", got, tt.clean)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the upstream connection was neither closed nor dropped")
			}
			if e := r.nextEnd(t); e.Reason != tt.reason {
				t.Fatalf("end %v", e)
			}
		})
	}
}
