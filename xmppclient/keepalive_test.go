package xmppclient

import (
	"errors"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
)

// kaServer is the server's end of a Conn built over net.Pipe inside a
// synctest bubble, so the keepalive's timers run on the bubble's clock.
type kaServer struct {
	t    *testing.T
	nc   net.Conn
	got  chan string // each Read of what the Conn wrote
	next chan evOrErr
}

type evOrErr struct {
	ev  Event
	err error
}

// kaConn starts a Conn whose server has opened its stream; bound says the
// stream already has a resource (as after Login); relay, that it is a Dial
// stream. The Conn's events come out of s.next.
func kaConn(t *testing.T, relay, bound bool) (*Conn, *kaServer) {
	client, server := net.Pipe()
	cfg, err := Config{Domain: "localhost", Keepalive: time.Minute, KeepaliveTimeout: 20 * time.Second}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	c := newConn(&cfg, client, nil)
	c.relay = relay
	s := &kaServer{t: t, nc: server, got: make(chan string, 16), next: make(chan evOrErr, 16)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := server.Read(buf)
			if err != nil {
				close(s.got)
				return
			}
			s.got <- string(buf[:n])
		}
	}()
	go func() {
		for {
			ev, err := c.Next()
			s.next <- evOrErr{ev, err}
			if err != nil {
				return
			}
		}
	}()
	s.send(fakexmpp.Header("s1"))
	if e := <-s.next; e.err != nil || e.ev.Kind != EventHeader {
		t.Fatalf("first event %+v", e)
	}
	c.startKeepalive(bound)
	t.Cleanup(func() {
		c.Close()
		server.Close()
	})
	return c, s
}

func (s *kaServer) send(x string) {
	s.t.Helper()
	if _, err := s.nc.Write([]byte(x)); err != nil {
		s.t.Fatalf("server write: %v", err)
	}
}

// written is what the Conn wrote since the last call, once the bubble is
// idle.
func (s *kaServer) written() string {
	synctest.Wait()
	var b strings.Builder
	for {
		select {
		case x := <-s.got:
			b.WriteString(x)
		default:
			return b.String()
		}
	}
}

// question waits, on the bubble's clock, for the Conn to write something,
// at most the 2 × Keepalive within which a silent server is asked.
func (s *kaServer) question() string {
	s.t.Helper()
	for range 2 * 60 / 5 {
		time.Sleep(5 * time.Second)
		if w := s.written(); w != "" {
			return w
		}
	}
	s.t.Fatal("nothing asked within 2 minutes of silence")
	return ""
}

// event is the next event, which must have come by now.
func (s *kaServer) event() (Event, error) {
	s.t.Helper()
	synctest.Wait()
	select {
	case e := <-s.next:
		return e.ev, e.err
	default:
		s.t.Fatal("no event")
	}
	return Event{}, nil
}

func (s *kaServer) noEvent() {
	s.t.Helper()
	synctest.Wait()
	select {
	case e := <-s.next:
		s.t.Fatalf("unexpected event %v %q %v", e.ev.Kind, e.ev.Data, e.err)
	default:
	}
}

var pingID = strings.NewReplacer("<iq type='get' id='", "", "'><ping xmlns='urn:xmpp:ping'/></iq>", "")

func TestKeepaliveSilentServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, s := kaConn(t, false, true)
		time.Sleep(59 * time.Second)
		if w := s.written(); w != "" {
			t.Fatalf("wrote %q before a minute of silence", w)
		}
		time.Sleep(2 * time.Second)
		if w := s.written(); !strings.Contains(w, "<ping xmlns='urn:xmpp:ping'/>") {
			t.Fatalf("after a minute of silence wrote %q, want a ping", w)
		}
		time.Sleep(17 * time.Second)
		s.noEvent()
		time.Sleep(3 * time.Second)
		_, err := s.event()
		var xe *Error
		if !errors.As(err, &xe) || xe.Cond != "remote-connection-failed" || !errors.Is(err, errNoSignOfLife) {
			t.Fatalf("Next: %v, want remote-connection-failed for no sign of life", err)
		}
	})
}

func TestKeepaliveAnswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, s := kaConn(t, false, true)
		for range 3 {
			id := pingID.Replace(s.question())
			if !strings.HasPrefix(id, "xmppbridge-keepalive-") || strings.ContainsAny(id, "<>") {
				t.Fatalf("wrote %q, want one ping", id)
			}
			time.Sleep(5 * time.Second)
			s.send("<iq type='result' id='" + id + "' from='localhost'/>")
			s.noEvent() // the answer is the keepalive's, not the caller's
		}
		s.send("<message><body>hi</body></message>")
		if ev, err := s.event(); err != nil || string(ev.Data) != "<message><body>hi</body></message>" {
			t.Fatalf("event %q %v", ev.Data, err)
		}
		// Another iq with an id that is not the keepalive's goes through.
		s.send("<iq type='result' id='xmppbridge-keepalive-1'/>")
		if ev, err := s.event(); err != nil || !strings.Contains(string(ev.Data), "keepalive-1") {
			t.Fatalf("event %q %v", ev.Data, err)
		}
	})
}

func TestKeepaliveTalkativeServer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, s := kaConn(t, false, true)
		for range 10 {
			time.Sleep(30 * time.Second)
			s.send(" ") // whitespace is a sign of life too
		}
		if w := s.written(); w != "" {
			t.Fatalf("asked a server that talks: %q", w)
		}
		s.noEvent()
	})
}

// On a relayed stream nothing is asked before a resource is bound.
func TestKeepaliveWaitsForBind(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := kaConn(t, true, false)
		time.Sleep(10 * time.Minute)
		if w := s.written(); w != "" {
			t.Fatalf("asked before binding: %q", w)
		}
		s.noEvent()
		if err := c.Write([]byte(`<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>`)); err != nil {
			t.Fatal(err)
		}
		s.written()
		s.send("<iq type='result' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>a@localhost/r</jid></bind></iq>")
		if ev, _ := s.event(); !strings.Contains(string(ev.Data), "<jid>") {
			t.Fatalf("bind result not relayed: %q", ev.Data)
		}
		if w := s.question(); !strings.Contains(w, "urn:xmpp:ping") {
			t.Fatalf("after binding and silence wrote %q, want a ping", w)
		}
	})
}

// Once the browser has enabled stream management, the question is an <r/>,
// and of the <a/> answers only the keepalive's are kept from the browser,
// matched in order of asking.
func TestKeepaliveStreamManagement(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := kaConn(t, true, true)
		write := func(x string) {
			t.Helper()
			if err := c.Write([]byte(x)); err != nil {
				t.Fatal(err)
			}
		}
		write("<enable xmlns='urn:xmpp:sm:3' resume='true'/>")
		s.written()
		time.Sleep(10 * time.Minute)
		if w := s.written(); w != "" {
			t.Fatalf("asked while <enable/> was unanswered: %q", w)
		}
		s.send("<enabled xmlns='urn:xmpp:sm:3' id='sm1' resume='true'/>")
		if ev, _ := s.event(); !strings.Contains(string(ev.Data), "<enabled") {
			t.Fatalf("event %q", ev.Data)
		}
		if w := s.question(); w != "<r xmlns='urn:xmpp:sm:3'/>" {
			t.Fatalf("wrote %q, want <r/>", w)
		}
		write("<r xmlns='urn:xmpp:sm:3'/>") // the browser asks too, after us
		s.send("<a xmlns='urn:xmpp:sm:3' h='1'/>")
		s.noEvent() // ours
		s.send("<a xmlns='urn:xmpp:sm:3' h='2'/>")
		if ev, _ := s.event(); string(ev.Data) != "<a xmlns='urn:xmpp:sm:3' h='2'/>" {
			t.Fatalf("the browser's answer: %q", ev.Data)
		}
		s.send("<a xmlns='urn:xmpp:sm:3' h='2'/>") // unasked: the browser's to see
		if ev, _ := s.event(); !strings.Contains(string(ev.Data), "<a ") {
			t.Fatalf("event %q", ev.Data)
		}
	})
}

// A ping out when the browser enables stream management: its answer is
// then a stanza the server counts, so the browser gets it.
func TestKeepalivePingBeforeEnable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s := kaConn(t, true, true)
		time.Sleep(61 * time.Second)
		id := pingID.Replace(s.written())
		if !strings.HasPrefix(id, "xmppbridge-keepalive-") {
			t.Fatalf("wrote %q, want a ping", id)
		}
		if err := c.Write([]byte("<enable xmlns='urn:xmpp:sm:3'/>")); err != nil {
			t.Fatal(err)
		}
		s.written()
		s.send("<enabled xmlns='urn:xmpp:sm:3'/><iq type='result' id='" + id + "'/>")
		if ev, _ := s.event(); !strings.Contains(string(ev.Data), "<enabled") {
			t.Fatalf("event %q", ev.Data)
		}
		if ev, _ := s.event(); !strings.Contains(string(ev.Data), id) {
			t.Fatalf("event %q, want the ping's answer", ev.Data)
		}
	})
}
