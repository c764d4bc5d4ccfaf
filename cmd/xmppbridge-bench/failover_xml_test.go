package main

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// scriptedStream is a Stream whose server says the elements of in, one
// per Recv, and records what the client sends.
type scriptedStream struct {
	in   []string
	sent []string
}

func (s *scriptedStream) Open(context.Context, string) ([]byte, error) {
	return []byte(`<stream:features><mechanisms xmlns="urn:ietf:params:xml:ns:xmpp-sasl"><mechanism>PLAIN</mechanism></mechanisms><sm xmlns="urn:xmpp:sm:3"/></stream:features>`), nil
}

func (s *scriptedStream) Send(el []byte) error {
	s.sent = append(s.sent, string(el))
	return nil
}

func (s *scriptedStream) Recv() ([]byte, error) {
	if len(s.in) == 0 {
		return nil, io.EOF
	}
	el := s.in[0]
	s.in = s.in[1:]
	return []byte(el), nil
}

func (s *scriptedStream) Close() error { return nil }

func TestXMLPageHello(t *testing.T) {
	for _, tc := range []struct {
		name    string
		hello   pageHello
		in      []string
		want    pageOpen
		refused bool
		err     bool
		sends   string // the last element the page sent
	}{
		{
			name:  "login",
			hello: pageHello{domain: "d", user: "u", password: "p"},
			in: []string{`<success xmlns="urn:ietf:params:xml:ns:xmpp-sasl"/>`,
				`<iq type="result" id="b"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><jid>u@d/load</jid></bind></iq>`,
				`<message from="v@d/load"><body>1 2 3</body></message>`, // before <enabled/>: not counted
				`<enabled xmlns='urn:xmpp:sm:3' id='SM1' resume='true' max='600'/>`},
			want:  pageOpen{token: "SM1"},
			sends: `<enable xmlns="urn:xmpp:sm:3" resume="true"/>`,
		},
		{
			name:  "resumption refused at enable",
			hello: pageHello{domain: "d", user: "u", password: "p"},
			in: []string{`<success xmlns="urn:ietf:params:xml:ns:xmpp-sasl"/>`,
				`<iq type="result" id="b"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><jid>u@d/load</jid></bind></iq>`,
				`<enabled xmlns='urn:xmpp:sm:3'/>`},
			err: true,
		},
		{
			name:  "resumed",
			hello: pageHello{domain: "d", user: "u", password: "p", resume: true, token: "SM1", h: 7},
			in:    []string{`<success xmlns="urn:ietf:params:xml:ns:xmpp-sasl"/>`, `<resumed xmlns='urn:xmpp:sm:3' h='4' previd='SM1'/>`},
			want:  pageOpen{token: "SM1", received: 4, ackN: 4},
			sends: `<resume xmlns="urn:xmpp:sm:3" previd="SM1" h="7"/>`,
		},
		{
			name:    "failed",
			hello:   pageHello{domain: "d", user: "u", password: "p", resume: true, token: "SM1", h: 7},
			in:      []string{`<success xmlns="urn:ietf:params:xml:ns:xmpp-sasl"/>`, `<failed xmlns='urn:xmpp:sm:3' h='4'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></failed>`},
			refused: true,
		},
		{
			name:  "connection lost before the answer",
			hello: pageHello{domain: "d", user: "u", password: "p", resume: true, token: "SM1", h: 7},
			in:    []string{`<success xmlns="urn:ietf:params:xml:ns:xmpp-sasl"/>`},
			err:   true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &scriptedStream{in: tc.in}
			c := &xmlPageConn{s: s}
			got, err := c.hello(context.Background(), tc.hello)
			var r *errRefused
			switch {
			case tc.refused:
				if !errors.As(err, &r) {
					t.Fatalf("err %v, want a refusal", err)
				}
			case tc.err:
				if err == nil || errors.As(err, &r) {
					t.Fatalf("err %v, want a failure worth trying again", err)
				}
			case err != nil || got != tc.want:
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
			if tc.sends != "" && s.sent[len(s.sent)-1] != tc.sends {
				t.Errorf("sent %q last, want %q", s.sent[len(s.sent)-1], tc.sends)
			}
		})
	}
}

// TestXMLPageConn: the page answers <r/> with its h, takes in <a/>, asks
// for an ack after each stanza, and hands stanzas up.
func TestXMLPageConn(t *testing.T) {
	s := &scriptedStream{in: []string{
		`<r xmlns='urn:xmpp:sm:3'/>`,
		`<a xmlns='urn:xmpp:sm:3' h='3'/>`,
		`<message from="v@d/load"><body>1 2 3</body></message>`,
		`<stream:error xmlns:stream="http://etherx.jabber.org/streams"><conflict xmlns="urn:ietf:params:xml:ns:xmpp-streams"/></stream:error>`,
	}}
	var ackedN int64
	c := &xmlPageConn{s: s, acked: func(n, _ int64) { ackedN = n }, handled: func() int64 { return 5 }}
	el, err := c.recv()
	if err != nil || !isXMLStanza(el) {
		t.Fatalf("recv: %q, %v", el, err)
	}
	if ackedN != 3 {
		t.Errorf("acked %d, want 3", ackedN)
	}
	if len(s.sent) != 1 || s.sent[0] != `<a xmlns="urn:xmpp:sm:3" h="5"/>` {
		t.Errorf("sent %q, want the answer to <r/>", s.sent)
	}
	if _, err := c.recv(); err == nil {
		t.Error("a stream error did not end the stream")
	}
	c.send([]byte(`<message/>`))
	if got := strings.Join(s.sent[1:], ""); got != `<message/><r xmlns="urn:xmpp:sm:3"/>` {
		t.Errorf("sent %q, want the stanza and a request for an ack", got)
	}
}
