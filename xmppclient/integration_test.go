//go:build integration

package xmppclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/testbed"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

// Tests against a real Prosody (internal/testbed).

func TestProsody(t *testing.T) {
	p := testbed.Start(t)
	pem, err := os.ReadFile(p.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", p.CAFile)
	}
	// No ServerName: it must default to the domain.
	verified := &tls.Config{RootCAs: roots}
	tlsCfg := Config{Domain: p.Domain, Addr: p.C2SAddr, TLS: verified}
	plainCfg := Config{Domain: p.Domain, Addr: p.C2SAddr, Security: Plaintext}

	t.Run("dial starttls verified", func(t *testing.T) {
		c := dialT(t, tlsCfg)
		if !c.Secure() {
			t.Error("Secure() = false")
		}
		if h := c.Header(); h.From != p.Domain || h.ID == "" || h.Version != "1.0" {
			t.Errorf("Header() = %+v", h)
		}
		feat := nextFeatures(t, c)
		t.Logf("relayed features: %s", feat)
		if strings.Contains(feat, "starttls") || strings.Contains(feat, "-PLUS<") {
			t.Errorf("relayed features offer STARTTLS or channel binding: %s", feat)
		}
		if !strings.Contains(feat, "<mechanism>PLAIN</mechanism>") {
			t.Errorf("features over TLS lack PLAIN: %s", feat)
		}
	})

	t.Run("dial with the system roots rejects the certificate", func(t *testing.T) {
		_, err := Dial(context.Background(), Config{Domain: p.Domain, Addr: p.C2SAddr})
		wantCond(t, err, "remote-connection-failed")
		var ua x509.UnknownAuthorityError
		var ce *tls.CertificateVerificationError
		if !errors.As(err, &ua) && !errors.As(err, &ce) {
			t.Errorf("cause %v, want a certificate error", err)
		}
	})

	t.Run("dial plaintext loopback", func(t *testing.T) {
		c := dialT(t, plainCfg)
		if c.Secure() {
			t.Error("Secure() = true")
		}
		if feat := nextFeatures(t, c); strings.Contains(feat, "starttls") {
			t.Errorf("relayed features offer STARTTLS: %s", feat)
		}
	})

	for _, tt := range []struct {
		name string
		cfg  Config
	}{{"tls", tlsCfg}, {"plaintext", plainCfg}} {
		t.Run("login scram "+tt.name, func(t *testing.T) {
			c, err := Login(context.Background(), tt.cfg, Credentials{Username: "alice", Password: testbed.Password})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			t.Logf("bound %s with %s", c.JID(), c.mech)
			if !strings.HasPrefix(c.JID(), "alice@localhost/") || len(c.JID()) == len("alice@localhost/") {
				t.Errorf("JID() = %q", c.JID())
			}
			closeAndWait(t, c)
		})
	}

	t.Run("login wrong password", func(t *testing.T) {
		_, err := Login(context.Background(), tlsCfg, Credentials{Username: "alice", Password: "wrong"})
		if xe := wantCond(t, err, "not-authorized"); !xe.SASL {
			t.Errorf("SASL = false in %v", err)
		}
	})

	t.Run("message with an unknown extension", func(t *testing.T) {
		alice, err := Login(context.Background(), tlsCfg, Credentials{Username: "alice", Password: testbed.Password, Resource: "a"})
		if err != nil {
			t.Fatal(err)
		}
		defer alice.Close()
		bob, err := Login(context.Background(), plainCfg, Credentials{Username: "bob", Password: testbed.Password, Resource: "b"})
		if err != nil {
			t.Fatal(err)
		}
		defer bob.Close()
		if bob.JID() != "bob@localhost/b" || !strings.HasPrefix(bob.mech, "SCRAM-") || !strings.HasPrefix(alice.mech, "SCRAM-") {
			t.Errorf("bob is %q by %s, alice by %s", bob.JID(), bob.mech, alice.mech)
		}
		for _, tt := range []struct {
			name     string
			from, to *Conn
		}{{"tls to plaintext", alice, bob}, {"plaintext to tls", bob, alice}} {
			t.Run(tt.name, func(t *testing.T) {
				got := receiveMessage(t, tt.to)
				msg := "<message to='" + tt.to.JID() + "' id='m1' type='chat'><body>a &amp; b</body>" +
					"<x xmlns='urn:example:unknown' kind='test'><y:deep xmlns:y='urn:example:y' y:n='1'>z</y:deep></x></message>"
				if err := tt.from.Write([]byte(msg)); err != nil {
					t.Fatal(err)
				}
				ev, ok := <-got
				if !ok {
					t.Fatal("the message never came")
				}
				el, err := parseEvent(&ev)
				if err != nil {
					t.Fatalf("relayed message does not stand alone: %v\n%s", err, ev.Data)
				}
				if from, _ := el.Attr("from"); string(from) != tt.from.JID() {
					t.Errorf("from %q, want %q", from, tt.from.JID())
				}
				x := findChild(&el, "x", "urn:example:unknown")
				if x == nil {
					t.Fatalf("extension lost: %s", ev.Data)
				}
				if v, _ := x.Attr("kind"); string(v) != "test" {
					t.Errorf("extension attribute lost: %s", ev.Data)
				}
				xc, err := parseChildren(x, nil, &el)
				if err != nil || len(xc.Children) != 1 || !is(&xc.Children[0], "deep", "urn:example:y", &xc, &el) ||
					string(elementText(&xc.Children[0])) != "z" {
					t.Errorf("extension content changed: %s", ev.Data)
				}
				// The server may rename prefixes; the namespaces must stay.
				if v, ok := attrNS(&xc.Children[0], "urn:example:y", "n"); !ok || v != "1" {
					t.Errorf("namespaced attribute lost: %s", ev.Data)
				}
				if body := findChild(&el, "body", nsClient); body == nil || string(elementText(body)) != "a & b" {
					t.Errorf("body changed: %s", ev.Data)
				}
			})
		}
	})

	t.Run("relayed flow by hand", func(t *testing.T) {
		c := dialT(t, tlsCfg)
		nextFeatures(t, c)
		auth := "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>" +
			base64.StdEncoding.EncodeToString([]byte("\x00alice\x00"+testbed.Password)) + "</auth>"
		if err := c.Write([]byte(auth)); err != nil {
			t.Fatal(err)
		}
		if ev := nextT(t, c); !strings.HasPrefix(string(ev.Data), "<success") {
			t.Fatalf("after auth: %s", ev.Data)
		}
		first := c.Header().ID
		if err := c.Restart(); err != nil {
			t.Fatal(err)
		}
		if ev := nextT(t, c); ev.Kind != EventHeader || ev.Header.ID == first || ev.Header.ID != c.Header().ID {
			t.Fatalf("after Restart: %+v", ev)
		}
		if feat := nextFeatures(t, c); !strings.Contains(feat, "urn:ietf:params:xml:ns:xmpp-bind") {
			t.Fatalf("features after SASL lack bind: %s", feat)
		}
		if err := c.Write([]byte("<iq type='set' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>hand</resource></bind></iq>")); err != nil {
			t.Fatal(err)
		}
		ev := nextT(t, c)
		el, err := parseEvent(&ev)
		if err != nil {
			t.Fatal(err)
		}
		if typ, _ := el.Attr("type"); string(typ) != "result" || !strings.Contains(string(ev.Data), "<jid>alice@localhost/hand</jid>") {
			t.Fatalf("bind answer: %s", ev.Data)
		}
		closeAndWait(t, c)
	})
}

// receiveMessage reads c in the background until a message comes, after
// checking that c holds no read buffer while it waits for it.
func receiveMessage(t *testing.T, c *Conn) <-chan Event {
	t.Helper()
	waiting := make(chan int64, 4)
	c.onWait = func() {
		select {
		case waiting <- c.rd.held.Load():
		default:
		}
	}
	got := make(chan Event, 1)
	go func() {
		defer close(got)
		for {
			ev, err := c.Next()
			if err != nil {
				return
			}
			if ev.Kind == EventElement && strings.HasPrefix(string(ev.Data), "<message") {
				got <- ev
				return
			}
		}
	}()
	select {
	case held := <-waiting:
		if held != 0 {
			t.Errorf("%d bytes of buffer held by an idle stream", held)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Next never waited")
	}
	return got
}

// attrNS returns the value of el's attribute local in namespace ns,
// whatever prefix it has.
func attrNS(el *xmlsplit.Element, ns, local string) (string, bool) {
	for _, a := range el.Attrs {
		p, l, ok := strings.Cut(string(a.Name), ":")
		if !ok || p == "xmlns" || l != local {
			continue
		}
		if v, ok := el.Attr("xmlns:" + p); ok && string(v) == ns {
			return string(a.Value), true
		}
	}
	return "", false
}

// nextFeatures returns the features that follow Dial.
func nextFeatures(t *testing.T, c *Conn) string {
	t.Helper()
	ev := nextT(t, c)
	el, err := parseEvent(&ev)
	if err != nil || !is(&el, "features", nsStreams) {
		t.Fatalf("first Next: %s (%v), want features", ev.Data, err)
	}
	return string(ev.Data)
}

// closeAndWait closes the stream and expects the server to close its own.
func closeAndWait(t *testing.T, c *Conn) {
	t.Helper()
	if err := c.CloseStream(); err != nil {
		t.Fatal(err)
	}
	for {
		ev, err := c.Next()
		if err != nil {
			t.Fatalf("waiting for the server's stream end: %v", err)
		}
		if ev.Kind == EventEnd {
			return
		}
	}
}
