package xmppclient

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

// bytesConn is a net.Conn that reads what a server sent from memory, in
// pieces of a given size, and takes whatever is written.
type bytesConn struct {
	net.Conn // nil: only the methods below are used
	r        *bytes.Reader
	piece    int
}

func (c *bytesConn) Read(b []byte) (int, error) {
	if len(b) > c.piece {
		b = b[:c.piece]
	}
	return c.r.Read(b)
}
func (c *bytesConn) Write(b []byte) (int, error)      { return len(b), nil }
func (c *bytesConn) Close() error                     { return nil }
func (c *bytesConn) SetReadDeadline(time.Time) error  { return nil }
func (c *bytesConn) SetWriteDeadline(time.Time) error { return nil }
func (c *bytesConn) SetDeadline(time.Time) error      { return nil }
func (c *bytesConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *bytesConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }

// FuzzNext feeds whatever a server might send (stream headers, features,
// stanzas, stream errors, elements that are not namespace-well-formed) to
// the reader, relayed or bridge-authenticated, plaintext or not: nothing
// panics, and everything it hands over is strict — every element, with its
// borrowed declarations, is one namespace-well-formed element (repaired
// ones included), relayed features offer no STARTTLS, a stream error names
// a defined condition, and a dropped element says why.
func FuzzNext(f *testing.F) {
	h := fakexmpp.Header("s1")
	for _, s := range []string{
		h + fakexmpp.DefaultFeatures + "<message><body>hi</body></message></stream:stream>",
		h + "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>",
		h + "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1-PLUS</mechanism><mechanism>PLAIN</mechanism></mechanisms></stream:features>",
		h + "<message from='a@b/c'><x xmlns='http://www.w3.org/XML/1998/namespace'><y/></x></message><presence><x xmlns='urn:a' xmlns:ns1='http://www.w3.org/XML/1998/namespace' ns1:foo='1'/></presence>",
		h + "<message><p:x/></message><iq a='1' a='2'/><s:error xmlns:s='http://etherx.jabber.org/streams'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>t</text></s:error>",
		"<?xml version='1.0'?><s:stream xmlns:s='http://etherx.jabber.org/streams' xmlns='jabber:client' xmlns:sm='urn:xmpp:sm:3' id='x'><sm:a h='1'/><enabled xmlns='urn:xmpp:sm:3'/><iq type='result' id='b'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>a@b/c</jid></bind></iq>",
		h + "<stream:error><bad-format xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>" + h + "<message/>",
	} {
		f.Add([]byte(s), uint8(0), uint8(7))
		f.Add([]byte(s), uint8(3), uint8(255))
	}
	f.Fuzz(func(t *testing.T, in []byte, mode, piece uint8) {
		cfg, err := Config{Domain: "localhost", MaxStanzaBytes: 2048, Keepalive: -1}.withDefaults()
		if err != nil {
			t.Fatal(err)
		}
		if mode&1 != 0 {
			cfg.Security = Plaintext
		}
		c := newConn(&cfg, &bytesConn{r: bytes.NewReader(in), piece: 1 + int(piece)}, nil)
		c.relay = mode&2 != 0
		for range 1000 {
			ev, err := c.Next()
			if err != nil {
				return
			}
			switch ev.Kind {
			case EventHeader, EventEnd:
			case EventElement, EventStreamError:
				b := withNS(ev.Data, ev.NSAt, ev.NS)
				el, err := xmlsplit.Parse(b, xmlsplit.ParseOptions{Limits: xmlsplit.Limits{MaxBytes: 2*len(b) + 1}})
				if err != nil {
					t.Fatalf("handed over %q (NS %q at %d), which does not stand alone: %v", ev.Data, ev.NS, ev.NSAt, err)
				}
				if c.relay && localName(el.Name) == "features" && bytes.Contains(b, []byte("urn:ietf:params:xml:ns:xmpp-tls")) {
					if f, err := xmlsplit.Parse(b, xmlsplit.ParseOptions{Children: true}); err == nil && findChild(&f, "starttls", nsTLS) != nil {
						t.Fatalf("relayed features offer STARTTLS: %s", b)
					}
				}
				if ev.Kind == EventStreamError && (ev.StreamError == nil || !streamConditions[ev.StreamError.Condition]) {
					t.Fatalf("stream error %+v from %s", ev.StreamError, b)
				}
			case EventDropped:
				if ev.Fault == nil || ev.Data != nil {
					t.Fatalf("dropped without a reason, or with data: %+v", ev)
				}
			default:
				t.Fatalf("event of kind %d", ev.Kind)
			}
			if ev.Kind == EventEnd {
				return
			}
		}
	})
}

// FuzzFeatures: whatever features a server offers, filtering them for the
// browser leaves one element that stands alone, without STARTTLS or -PLUS
// mechanisms, and requiresTLS does not panic.
func FuzzFeatures(f *testing.F) {
	f.Add("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1-PLUS</mechanism><mechanism>SCRAM-SHA-1</mechanism></mechanisms>")
	f.Add("<t:starttls xmlns:t='urn:ietf:params:xml:ns:xmpp-tls'/><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>")
	f.Add("<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism> PLAIN-PLUS </mechanism><x>starttls</x></mechanisms>")
	f.Fuzz(func(t *testing.T, inner string) {
		raw := "<stream:features>" + inner + "</stream:features>"
		var sp xmlsplit.Splitter
		in := []byte(fakexmpp.Header("s1") + raw)
		_, n, err := sp.Split(in)
		if err != nil || n == 0 {
			return
		}
		it, n, err := sp.Split(in[n:])
		if err != nil || n == 0 || it.Kind != xmlsplit.KindElement || it.Fault != nil {
			return
		}
		el := it.Element
		requiresTLS(&el)
		out := filterFeatures(&el)
		if out == nil {
			out = el.Raw
		}
		var ns nsCache
		ns.reset(&sp)
		b := withNS(out, el.NSAt, ns.nsFor(&el, &sp))
		feat, err := xmlsplit.Parse(b, xmlsplit.ParseOptions{Children: true})
		if err != nil {
			t.Fatalf("filtered %s into %s, which does not stand alone: %v", el.Raw, b, err)
		}
		if findChild(&feat, "starttls", nsTLS) != nil {
			t.Fatalf("STARTTLS left in %s", b)
		}
		if ms := findChild(&feat, "mechanisms", nsSASL); ms != nil {
			if m, err := parseChildren(ms, nil, &feat); err == nil {
				for i := range m.Children {
					if ch := &m.Children[i]; is(ch, "mechanism", nsSASL, &m, &feat) && strings.HasSuffix(string(elementText(ch)), "-PLUS") {
						t.Fatalf("-PLUS left in %s", b)
					}
				}
			}
		}
	})
}
