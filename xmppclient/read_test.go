package xmppclient

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

const (
	nsDefault       = " xmlns='jabber:client'"
	nsDefaultStream = " xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"
)

type wantEvent struct {
	kind EventKind
	data string
	ns   string
	// cond and text: EventStreamError's; fault: Event.Fault is set.
	cond, text string
	fault      bool
}

func el(data, ns string) wantEvent { return wantEvent{kind: EventElement, data: data, ns: ns} }

var end = wantEvent{kind: EventEnd}

// transports runs a server handler as it is, and behind STARTTLS.
func transports(t *testing.T, pki *testPKI) map[string]func(h func(*fakexmpp.Conn)) Config {
	return map[string]func(h func(*fakexmpp.Conn)) Config{
		"tcp": func(h func(*fakexmpp.Conn)) Config {
			return plainCfg(fakexmpp.Start(t, h))
		},
		"tls": func(h func(*fakexmpp.Conn)) Config {
			s := fakexmpp.Start(t, startTLSThen(pki, h))
			return Config{Domain: "localhost", Addr: s.Addr, TLS: pki.clientConfig()}
		},
	}
}

// sender sends what it is given whole, or one byte per write.
type sender func(c *fakexmpp.Conn, s string) error

var senders = []struct {
	name string
	send sender
}{
	{"whole", func(c *fakexmpp.Conn, s string) error { return c.Send(s) }},
	{"bytewise", func(c *fakexmpp.Conn, s string) error {
		for i := 0; i < len(s); i++ {
			if err := c.Send(s[i : i+1]); err != nil {
				return err
			}
		}
		return nil
	}},
}

func TestNext(t *testing.T) {
	big := "<message id='big'><body>" + strings.Repeat("0123456789abcdef", 1500) + "</body></message>"
	tests := []struct {
		name    string
		header  string // default: fakexmpp.Header("s1")
		send    string // after the header and the default features
		max     int
		want    []wantEvent
		wantErr func(t *testing.T, err error) // nil: Next must block
	}{
		{
			name: "stanzas pass unmodified",
			send: "<message to='alice@localhost' id='m1' type='chat'><body>a &amp; b &lt;3 &#x1F600;</body><x xmlns='urn:example:unknown' attr=\"v'\"><y:z xmlns:y='urn:y' y:a='1'/></x></message>" +
				"<iq type='result' id='i1' xmlns='jabber:client'/>" +
				"<presence><show>away</show></presence>",
			want: []wantEvent{
				el("<message to='alice@localhost' id='m1' type='chat'><body>a &amp; b &lt;3 &#x1F600;</body><x xmlns='urn:example:unknown' attr=\"v'\"><y:z xmlns:y='urn:y' y:a='1'/></x></message>", nsDefault),
				el("<iq type='result' id='i1' xmlns='jabber:client'/>", ""),
				el("<presence><show>away</show></presence>", nsDefault),
			},
		},
		{
			name: "whitespace keepalives",
			send: " \n<message/>\n \n<message/> ",
			want: []wantEvent{el("<message/>", nsDefault), el("<message/>", nsDefault)},
		},
		{
			name: "stream error and end",
			send: "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>",
			want: []wantEvent{{kind: EventStreamError, data: "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>", ns: nsDefaultStream, cond: "conflict"}, end},
			wantErr: func(t *testing.T, err error) {
				if !errors.Is(err, io.EOF) {
					t.Errorf("Next after the end: %v, want io.EOF", err)
				}
			},
		},
		{
			name: "stream error by namespace, not prefix",
			send: "<s:error xmlns:s='http://etherx.jabber.org/streams'><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>bye &amp; thanks</text><made-up xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></s:error>" +
				"<error xmlns='urn:not:streams'/><stream:error xmlns:stream='urn:not:streams'/>",
			want: []wantEvent{
				{kind: EventStreamError, data: "<s:error xmlns:s='http://etherx.jabber.org/streams'><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>bye &amp; thanks</text><made-up xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></s:error>", ns: nsDefault, cond: "undefined-condition", text: "bye & thanks"},
				el("<error xmlns='urn:not:streams'/>", ""),
				el("<stream:error xmlns:stream='urn:not:streams'/>", nsDefault),
			},
		},
		{
			// What Prosody relays when one user sends another <xml:x/> or
			// xml:foo='1': not namespace-well-formed, but nothing to end a
			// stream for.
			name: "elements a server relays from other users, repaired",
			send: "<message from='alice@localhost/x' type='chat'><x xmlns='http://www.w3.org/XML/1998/namespace'/></message>" +
				"<message><x xmlns='urn:a' xmlns:ns1='http://www.w3.org/XML/1998/namespace' ns1:foo='1'/></message>" +
				"<presence><show>away</show></presence>",
			want: []wantEvent{
				{kind: EventElement, data: "<message xmlns='jabber:client' from='alice@localhost/x' type='chat'><xml:x/></message>", fault: true},
				{kind: EventElement, data: "<message xmlns='jabber:client'><x xmlns='urn:a' xml:foo='1'/></message>", fault: true},
				el("<presence><show>away</show></presence>", nsDefault),
			},
		},
		{
			name: "elements that cannot be repaired, dropped",
			send: "<message><p:x/></message><message><x xmlns='http://www.w3.org/2000/xmlns/'/></message>" +
				"<iq a='1' a='2'/><message>" + strings.Repeat("<a>", 70) + strings.Repeat("</a>", 70) + "</message><message/>",
			want: []wantEvent{
				{kind: EventDropped, fault: true},
				{kind: EventDropped, fault: true},
				{kind: EventDropped, fault: true},
				{kind: EventDropped, fault: true},
				el("<message/>", nsDefault),
			},
		},
		{
			name:   "other prefix borrowed from the header",
			header: "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' xmlns:sm='urn:xmpp:sm:3' version='1.0' xml:lang='en' id='s1' from='localhost'>",
			send:   "<sm:r/><sm:a h='3' xmlns='urn:x'/>",
			want: []wantEvent{
				el("<sm:r/>", " xmlns='jabber:client' xmlns:sm='urn:xmpp:sm:3'"),
				el("<sm:a h='3' xmlns='urn:x'/>", " xmlns:sm='urn:xmpp:sm:3'"),
			},
		},
		{
			name: "large element",
			send: big + "<message/>",
			want: []wantEvent{el(big, nsDefault), el("<message/>", nsDefault)},
		},
		{
			name: "not well-formed",
			send: "<message/><message><body></message>",
			want: []wantEvent{el("<message/>", nsDefault)},
			wantErr: func(t *testing.T, err error) {
				wantCond(t, err, "not-well-formed")
			},
		},
		{
			name: "text at stream level",
			send: "hello",
			wantErr: func(t *testing.T, err error) {
				wantCond(t, err, "not-well-formed")
			},
		},
		{
			name: "comment",
			send: "<!-- no -->",
			wantErr: func(t *testing.T, err error) {
				wantCond(t, err, "restricted-xml")
			},
		},
		{
			name: "over MaxStanzaBytes",
			max:  1000,
			send: "<message/><message><body>" + strings.Repeat("x", 3000) + "</body></message>",
			want: []wantEvent{el("<message/>", nsDefault)},
			wantErr: func(t *testing.T, err error) {
				wantCond(t, err, "policy-violation")
			},
		},
		{
			name: "eof without a stream end",
			send: "<message/><mess",
			want: []wantEvent{el("<message/>", nsDefault)},
			wantErr: func(t *testing.T, err error) {
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("error %v, want io.ErrUnexpectedEOF", err)
				}
			},
		},
	}
	pki := newPKI(t)
	for tname, transport := range transports(t, pki) {
		for _, sd := range senders {
			for _, tt := range tests {
				t.Run(tname+"/"+sd.name+"/"+tt.name, func(t *testing.T) {
					if tt.name == "large element" && sd.name == "bytewise" && testing.Short() {
						t.Skip("slow in -short")
					}
					header := tt.header
					if header == "" {
						header = fakexmpp.Header("s1")
					}
					eof := tt.name == "eof without a stream end"
					cfg := transport(func(c *fakexmpp.Conn) {
						if _, err := c.Read(); err != nil {
							return
						}
						if sd.send(c, header+fakexmpp.DefaultFeatures+tt.send) != nil || eof {
							return
						}
						drain(c)
					})
					cfg.MaxStanzaBytes = tt.max
					c := dialT(t, cfg)
					if ev := nextT(t, c); string(ev.Data) != fakexmpp.DefaultFeatures {
						t.Fatalf("first event %q, want the features", ev.Data)
					}
					for i, w := range tt.want {
						ev := nextT(t, c)
						if ev.Kind != w.kind || string(ev.Data) != w.data || ev.NS != w.ns {
							t.Fatalf("event %d: %v %.80q NS %q, want %v %.80q NS %q", i, ev.Kind, ev.Data, ev.NS, w.kind, w.data, w.ns)
						}
						if (ev.Fault != nil) != w.fault {
							t.Fatalf("event %d: Fault %v, want one: %v", i, ev.Fault, w.fault)
						}
						if w.kind == EventElement && !w.fault && ev.NSAt != strings.IndexAny(w.data, " />") {
							t.Errorf("event %d: NSAt %d", i, ev.NSAt)
						}
						if w.kind == EventStreamError && (ev.StreamError == nil || *ev.StreamError != StreamError{Condition: w.cond, Text: w.text}) {
							t.Errorf("event %d: StreamError %+v, want %q %q", i, ev.StreamError, w.cond, w.text)
						}
					}
					if tt.wantErr == nil {
						return
					}
					_, err := c.Next()
					if err == nil {
						t.Fatal("Next succeeded, want an error")
					}
					tt.wantErr(t, err)
					if _, err2 := c.Next(); err2 != err {
						t.Errorf("second Next: %v, want the same error %v", err2, err)
					}
					if n := c.rd.held.Load(); n != 0 {
						t.Errorf("%d bytes of buffer held after the end", n)
					}
				})
			}
		}
	}
}

func TestNextRestart(t *testing.T) {
	s := fakexmpp.Start(t, fakexmpp.Echo)
	c := dialT(t, plainCfg(s))
	nextT(t, c) // features
	if err := c.Restart(); err != nil {
		t.Fatal(err)
	}
	ev := nextT(t, c)
	if ev.Kind != EventHeader || ev.Header.ID != "s2" || ev.Header.From != "localhost" {
		t.Fatalf("after Restart: %+v, want header s2", ev)
	}
	if h := c.Header(); h.ID != "s2" {
		t.Errorf("Header() = %+v, want s2", h)
	}
	if ev := nextT(t, c); string(ev.Data) != fakexmpp.DefaultFeatures || ev.NS != nsDefaultStream {
		t.Errorf("features after restart: %q NS %q", ev.Data, ev.NS)
	}
}

// TestIdleHoldsNoBuffer checks the memory promise: while Next waits for
// data, the Conn holds no read buffer.
func TestIdleHoldsNoBuffer(t *testing.T) {
	pki := newPKI(t)
	for name, transport := range transports(t, pki) {
		t.Run(name, func(t *testing.T) {
			send := make(chan string)
			cfg := transport(func(c *fakexmpp.Conn) {
				if c.Open("s1", fakexmpp.DefaultFeatures) != nil {
					return
				}
				for s := range send {
					if c.Send(s) != nil {
						return
					}
				}
				drain(c)
			})
			c := dialT(t, cfg)
			nextT(t, c) // features
			waiting := make(chan int64, 16)
			c.onWait = func() {
				select {
				case waiting <- c.rd.held.Load():
				default:
				}
			}
			for i := range 3 {
				got := make(chan Event, 1)
				go func() {
					ev, _ := c.Next()
					got <- ev
				}()
				if held := <-waiting; held != 0 {
					t.Fatalf("round %d: %d bytes held while waiting", i, held)
				}
				msg := fmt.Sprintf("<message id='%d'><body>%s</body></message>", i, strings.Repeat("x", 100*i))
				send <- msg
				if ev := <-got; string(ev.Data) != msg {
					t.Fatalf("round %d: got %q", i, ev.Data)
				}
				if held := c.rd.held.Load(); held != 0 {
					t.Fatalf("round %d: %d bytes held after the stanza", i, held)
				}
			}
			close(send)
		})
	}
}

func TestCloseWhileWaiting(t *testing.T) {
	pki := newPKI(t)
	for name, transport := range transports(t, pki) {
		t.Run(name, func(t *testing.T) {
			c := dialT(t, transport(script(fakexmpp.DefaultFeatures)))
			nextT(t, c)
			waiting := make(chan struct{}, 1)
			c.onWait = func() {
				select {
				case waiting <- struct{}{}:
				default:
				}
			}
			errc := make(chan error, 1)
			go func() {
				_, err := c.Next()
				errc <- err
			}()
			<-waiting
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if err := c.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			select {
			case err := <-errc:
				if err == nil {
					t.Fatal("Next succeeded after Close")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Next still blocked after Close")
			}
			if err := c.Write([]byte("<message/>")); err == nil {
				t.Error("Write succeeded after Close")
			}
		})
	}
}

func TestCloseStream(t *testing.T) {
	defer func(d time.Duration) { closeGrace = d }(closeGrace)
	closeGrace = 100 * time.Millisecond
	pki := newPKI(t)
	tests := []struct {
		name    string
		answer  bool
		wantEnd bool
	}{
		{"server answers", true, true},
		{"server never answers", false, false},
	}
	for tname, transport := range transports(t, pki) {
		for _, tt := range tests {
			t.Run(tname+"/"+tt.name, func(t *testing.T) {
				closes := make(chan int, 1)
				c := dialT(t, transport(func(c *fakexmpp.Conn) {
					if c.Open("s1", fakexmpp.DefaultFeatures) != nil {
						return
					}
					n := 0
					defer func() { closes <- n }()
					for {
						it, err := c.Read()
						if err != nil {
							return
						}
						if it.Kind == xmlsplit.KindClose {
							n++
							if tt.answer {
								_ = c.Send("</stream:stream>")
							}
						}
					}
				}))
				nextT(t, c)
				for range 2 {
					if err := c.CloseStream(); err != nil {
						t.Fatal(err)
					}
				}
				if err := c.Write([]byte("<message/>")); err == nil {
					t.Error("Write after CloseStream succeeded")
				}
				ev, err := c.Next()
				if tt.wantEnd {
					if err != nil || ev.Kind != EventEnd {
						t.Fatalf("Next = %v, %v; want the end", ev.Kind, err)
					}
				} else if err == nil {
					t.Fatalf("Next = %v, want a timeout", ev.Kind)
				}
				c.Close()
				if n := <-closes; n != 1 {
					t.Errorf("server saw %d stream closes, want 1", n)
				}
			})
		}
	}
}

func TestWriteConcurrent(t *testing.T) {
	const writers, each = 8, 50
	s := fakexmpp.Start(t, fakexmpp.Echo)
	c := dialT(t, plainCfg(s))
	nextT(t, c)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := c.Write(fmt.Appendf(nil, "<message id='%d-%d'><body>%s</body></message>", w, i, strings.Repeat("y", 200))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	seen := make(map[string]bool)
	for range writers * each {
		ev := nextT(t, c)
		s := string(ev.Data)
		if !strings.HasPrefix(s, "<message id='") || !strings.HasSuffix(s, strings.Repeat("y", 200)+"</body></message>") || seen[s] {
			t.Fatalf("echoed %q", s)
		}
		seen[s] = true
	}
	wg.Wait()
}

func TestWriteBroken(t *testing.T) {
	stop := make(chan struct{})
	s := fakexmpp.Start(t, func(c *fakexmpp.Conn) {
		if c.Open("s1", fakexmpp.DefaultFeatures) != nil {
			return
		}
		<-stop // never reads again
	})
	t.Cleanup(func() { close(stop) })
	cfg := plainCfg(s)
	cfg.WriteTimeout = 100 * time.Millisecond
	c := dialT(t, cfg)
	chunk := []byte("<message><body>" + strings.Repeat("z", 1<<20) + "</body></message>")
	var err error
	for range 1000 {
		if err = c.Write(chunk); err != nil {
			break
		}
	}
	if err == nil {
		t.Fatal("writes to a server that never reads kept succeeding")
	}
	if err2 := c.Write([]byte("<message/>")); err2 != err {
		t.Errorf("Write after a failure: %v, want the same error %v", err2, err)
	}
}

// BenchmarkNext measures relaying typical message stanzas from the server.
func BenchmarkNext(b *testing.B) {
	const stanza = "<message from='bob@localhost/phone' to='alice@localhost/web' type='chat' id='5c3f0e7a-8d1e-4c55-9a36-2f4b1d6e8a90'>" +
		"<body>Hello Alice, are we still on for lunch today?</body>" +
		"<active xmlns='http://jabber.org/protocol/chatstates'/>" +
		"<stanza-id xmlns='urn:xmpp:sid:0' by='alice@localhost' id='Zk3hN0Q2xLq'/></message>"
	// The server writes one []byte over and over, so that its own
	// allocations do not count against Next.
	batch := []byte(strings.Repeat(stanza, 64))
	pki := newPKI(b)
	send := func(c *fakexmpp.Conn) {
		_ = c.SetWriteDeadline(time.Time{})
		for {
			if _, err := c.Write(batch); err != nil {
				return
			}
		}
	}
	flood := func(c *fakexmpp.Conn) {
		if c.Open("s1", fakexmpp.DefaultFeatures) != nil {
			return
		}
		send(c)
	}
	for _, tr := range []struct {
		name string
		cfg  func() Config
	}{
		{"tcp", func() Config { return plainCfg(fakexmpp.Start(b, flood)) }},
		{"tls", func() Config {
			s := fakexmpp.Start(b, startTLSThen(pki, func(c *fakexmpp.Conn) {
				if _, err := c.Read(); err != nil {
					return
				}
				if c.Send(fakexmpp.Header("s2")+fakexmpp.DefaultFeatures) != nil {
					return
				}
				send(c)
			}))
			return Config{Domain: "localhost", Addr: s.Addr, TLS: pki.clientConfig()}
		}},
	} {
		b.Run(tr.name, func(b *testing.B) {
			c := dialT(b, tr.cfg())
			nextT(b, c)
			b.SetBytes(int64(len(stanza)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				ev, err := c.Next()
				if err != nil || len(ev.Data) != len(stanza) {
					b.Fatalf("Next: %v %q", err, ev.Data)
				}
			}
			b.StopTimer()
			c.Close()
		})
	}
}
