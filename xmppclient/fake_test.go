package xmppclient

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

// Test helpers: a certificate authority made up for each test, and
// scripted server handlers built on internal/fakexmpp.

const (
	starttlsFeatures = "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>"
	afterTLSFeatures = "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1-PLUS</mechanism><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms></stream:features>"
)

// testPKI is a CA and a server certificate it signed for localhost and
// 127.0.0.1.
type testPKI struct {
	roots *x509.CertPool
	cert  tls.Certificate
}

func newPKI(t testing.TB) *testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "xmppclient test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	return &testPKI{roots: roots, cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}}
}

func (p *testPKI) serverConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{p.cert}}
}

func (p *testPKI) clientConfig() *tls.Config {
	return &tls.Config{RootCAs: p.roots}
}

// startTLSThen offers STARTTLS, upgrades the connection and runs then on
// the TLS side, the client's new stream header not yet read.
func startTLSThen(p *testPKI, then func(*fakexmpp.Conn)) func(*fakexmpp.Conn) {
	return func(c *fakexmpp.Conn) {
		if err := c.Open("s1", starttlsFeatures); err != nil {
			return
		}
		if it, err := c.Read(); err != nil || it.Raw != "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>" {
			return
		}
		if c.Send("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>") != nil {
			return
		}
		tc := tls.Server(c.Conn, p.serverConfig())
		_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
		if tc.Handshake() != nil {
			return
		}
		_ = tc.SetDeadline(time.Time{})
		then(&fakexmpp.Conn{Conn: tc})
	}
}

// directTLS runs h on the TLS side of a direct TLS connection.
func directTLS(p *testPKI, h func(*fakexmpp.Conn)) func(*fakexmpp.Conn) {
	return func(c *fakexmpp.Conn) {
		tc := tls.Server(c.Conn, p.serverConfig())
		_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
		if tc.Handshake() != nil {
			return
		}
		_ = tc.SetDeadline(time.Time{})
		h(&fakexmpp.Conn{Conn: tc})
	}
}

// script opens the stream with features, sends the given chunks one by one
// and then waits for the client to go.
func script(features string, chunks ...string) func(*fakexmpp.Conn) {
	return func(c *fakexmpp.Conn) {
		if err := c.Open("s1", features); err != nil {
			return
		}
		for _, s := range chunks {
			if c.Send(s) != nil {
				return
			}
		}
		drain(c)
	}
}

// drain reads until the client goes, answering a stream close.
func drain(c *fakexmpp.Conn) {
	for {
		it, err := c.Read()
		if err != nil {
			return
		}
		if it.Kind == xmlsplit.KindClose {
			_ = c.Send("</stream:stream>")
			return
		}
	}
}

// silent accepts and never says anything, until the client goes.
func silent(c *fakexmpp.Conn) {
	var b [512]byte
	for {
		_ = c.SetReadDeadline(time.Now().Add(time.Minute))
		if _, err := c.Conn.Read(b[:]); err != nil {
			return
		}
	}
}

// plainCfg is a Plaintext config for a fake server.
func plainCfg(s *fakexmpp.Server) Config {
	return Config{Domain: "localhost", Addr: s.Addr, Security: Plaintext}
}

func dialT(t testing.TB, cfg Config) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// nextT returns the next event, failing the test on an error.
func nextT(t testing.TB, c *Conn) Event {
	t.Helper()
	ev, err := c.Next()
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return ev
}

// wantCond checks that err is an *Error with the condition.
func wantCond(t testing.TB, err error, cond string) *Error {
	t.Helper()
	var xe *Error
	if !errors.As(err, &xe) {
		t.Fatalf("error %v (%T), want *Error %s", err, err, cond)
	}
	if xe.Cond != cond {
		t.Fatalf("condition %q (%v), want %q", xe.Cond, err, cond)
	}
	return xe
}
