package xmppclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
)

func TestDialOK(t *testing.T) {
	pki := newPKI(t)
	tests := []struct {
		name     string
		security Security
		handler  func(*fakexmpp.Conn)
		tls      *tls.Config
		secure   bool
		id       string
		features string // what the first Next must return
	}{
		{
			name:     "plaintext loopback",
			security: Plaintext,
			handler:  script(fakexmpp.DefaultFeatures),
			id:       "s1",
			features: fakexmpp.DefaultFeatures,
		},
		{
			name:     "starttls verified",
			security: StartTLS,
			handler:  startTLSThen(pki, script(afterTLSFeatures)),
			tls:      pki.clientConfig(),
			secure:   true,
			id:       "s1",
			features: "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms></stream:features>",
		},
		{
			name:     "direct tls verified",
			security: DirectTLS,
			handler:  directTLS(pki, script(afterTLSFeatures)),
			tls:      pki.clientConfig(),
			secure:   true,
			id:       "s1",
			features: "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms></stream:features>",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := fakexmpp.Start(t, tt.handler)
			c := dialT(t, Config{Domain: "localhost", Addr: s.Addr, Security: tt.security, TLS: tt.tls})
			if c.Secure() != tt.secure {
				t.Errorf("Secure() = %v, want %v", c.Secure(), tt.secure)
			}
			h := c.Header()
			if h.ID != tt.id || h.From != "localhost" || h.Version != "1.0" || h.Lang != "en" {
				t.Errorf("Header() = %+v", h)
			}
			ev := nextT(t, c)
			if ev.Kind != EventElement || string(ev.Data) != tt.features {
				t.Errorf("first Next = %v %q, want features %q", ev.Kind, ev.Data, tt.features)
			}
			if ev.NS != " xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'" || ev.NSAt != len("<stream:features") {
				t.Errorf("NS %q at %d", ev.NS, ev.NSAt)
			}
		})
	}
}

func TestDialHeaderSent(t *testing.T) {
	got := make(chan string, 1)
	s := fakexmpp.Start(t, func(c *fakexmpp.Conn) {
		it, err := c.Read()
		if err != nil {
			return
		}
		got <- it.Raw
		_ = c.Send(fakexmpp.Header("s1"))
		drain(c)
	})
	cfg := plainCfg(s)
	cfg.From, cfg.Lang = "a'b@localhost", "de"
	dialT(t, cfg)
	want := "<stream:stream to='localhost' from='a&apos;b@localhost' xml:lang='de' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"
	if g := <-got; g != want {
		t.Errorf("header sent\n got %s\nwant %s", g, want)
	}
}

func TestDialErrors(t *testing.T) {
	pki := newPKI(t)
	refused := func() string {
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
		handler  func(*fakexmpp.Conn) // nil: no server
		addr     string               // with no handler
		security Security
		tls      *tls.Config
		timeout  time.Duration
		cond     string
		text     string
		check    func(t *testing.T, err error)
	}{
		{
			name: "connection refused", addr: refused, security: Plaintext,
			cond: "remote-connection-failed",
			check: func(t *testing.T, err error) {
				var oe *net.OpError
				if !errors.As(err, &oe) {
					t.Errorf("cause %v, want a *net.OpError", err)
				}
			},
		},
		{
			name: "plaintext to a non-loopback address", addr: "192.0.2.1:5222", security: Plaintext,
			cond: "policy-violation",
			check: func(t *testing.T, err error) {
				if !strings.Contains(err.Error(), "192.0.2.1:5222") {
					t.Errorf("error %q does not say which address", err)
				}
			},
		},
		{
			name: "no starttls offered", handler: script(fakexmpp.DefaultFeatures),
			cond: "remote-connection-failed",
		},
		{
			name:    "stream error while negotiating",
			handler: script("<stream:error><host-unknown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>no such domain</text></stream:error></stream:stream>"),
			cond:    "host-unknown", text: "no such domain",
		},
		{
			name: "starttls failure",
			handler: func(c *fakexmpp.Conn) {
				if c.Open("s1", starttlsFeatures) != nil {
					return
				}
				if _, err := c.Read(); err != nil {
					return
				}
				_ = c.Send("<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>")
			},
			cond: "remote-connection-failed",
		},
		{
			name: "data after proceed",
			handler: func(c *fakexmpp.Conn) {
				if c.Open("s1", starttlsFeatures) != nil {
					return
				}
				if _, err := c.Read(); err != nil {
					return
				}
				_ = c.Send("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><message/>")
				drain(c)
			},
			cond: "remote-connection-failed",
		},
		{
			name: "server never answers", handler: silent, security: Plaintext,
			timeout: 200 * time.Millisecond, cond: "remote-connection-failed",
			check: func(t *testing.T, err error) {
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("cause %v, want the deadline", err)
				}
			},
		},
		{
			name: "server closes at once", handler: func(*fakexmpp.Conn) {}, security: Plaintext,
			cond: "remote-connection-failed",
		},
		{
			name: "starttls untrusted certificate", handler: startTLSThen(pki, script(afterTLSFeatures)),
			tls: &tls.Config{RootCAs: x509.NewCertPool()}, cond: "remote-connection-failed",
			check: wantUnknownAuthority,
		},
		{
			name: "starttls wrong server name", handler: startTLSThen(pki, script(afterTLSFeatures)),
			tls: &tls.Config{RootCAs: pki.roots, ServerName: "example.com"}, cond: "remote-connection-failed",
			check: func(t *testing.T, err error) {
				var he x509.HostnameError
				if !errors.As(err, &he) {
					t.Errorf("cause %v, want an x509.HostnameError", err)
				}
			},
		},
		{
			name: "skipping verification is not allowed", handler: startTLSThen(pki, script(afterTLSFeatures)),
			tls: &tls.Config{InsecureSkipVerify: true}, cond: "remote-connection-failed",
			check: wantUnknownAuthority,
		},
		{
			name: "direct tls untrusted certificate", handler: directTLS(pki, script(afterTLSFeatures)),
			security: DirectTLS, cond: "remote-connection-failed",
			check: wantUnknownAuthority,
		},
		{
			name: "not xml", handler: func(c *fakexmpp.Conn) { _ = c.Send("HTTP/1.1 400 Bad Request\r\n\r\n") },
			security: Plaintext, cond: "remote-connection-failed",
			check: func(t *testing.T, err error) {
				var xe *Error
				errors.As(err, &xe)
				var inner *Error
				if !errors.As(xe.Err, &inner) || inner.Cond != "not-well-formed" {
					t.Errorf("cause %v, want not-well-formed", xe.Err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Domain: "localhost", Addr: tt.addr, Security: tt.security, TLS: tt.tls, DialTimeout: tt.timeout}
			if tt.handler != nil {
				cfg.Addr = fakexmpp.Start(t, tt.handler).Addr
			}
			c, err := Dial(context.Background(), cfg)
			if err == nil {
				c.Close()
				t.Fatal("Dial succeeded")
			}
			xe := wantCond(t, err, tt.cond)
			if xe.Text != tt.text {
				t.Errorf("text %q, want %q", xe.Text, tt.text)
			}
			if !strings.HasPrefix(err.Error(), "xmppclient: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

func wantUnknownAuthority(t *testing.T, err error) {
	t.Helper()
	var ua x509.UnknownAuthorityError
	if !errors.As(err, &ua) {
		t.Errorf("cause %v, want an x509.UnknownAuthorityError", err)
	}
}

func TestDialContextCanceled(t *testing.T) {
	s := fakexmpp.Start(t, silent)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	_, err := Dial(ctx, plainCfg(s))
	wantCond(t, err, "remote-connection-failed")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cause %v, want context.Canceled", err)
	}
}

func TestDialConfig(t *testing.T) {
	if _, err := Dial(context.Background(), Config{}); err == nil {
		t.Fatal("Dial with no domain succeeded")
	}
	cfg, err := Config{Domain: "example.com"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DialTimeout != 10*time.Second || cfg.WriteTimeout != 10*time.Second || cfg.MaxStanzaBytes != 256<<10 {
		t.Errorf("defaults %+v", cfg)
	}
	tc := tlsConfig(&Config{Domain: "example.com", TLS: &tls.Config{InsecureSkipVerify: true}}, true)
	if tc.ServerName != "example.com" || tc.InsecureSkipVerify || len(tc.NextProtos) != 1 || tc.NextProtos[0] != "xmpp-client" {
		t.Errorf("tlsConfig = ServerName %q, InsecureSkipVerify %v, NextProtos %q", tc.ServerName, tc.InsecureSkipVerify, tc.NextProtos)
	}
	if tc := tlsConfig(&Config{Domain: "example.com", TLS: &tls.Config{ServerName: "xmpp.example.net"}}, false); tc.ServerName != "xmpp.example.net" || tc.NextProtos != nil {
		t.Errorf("tlsConfig kept ServerName %q, NextProtos %q", tc.ServerName, tc.NextProtos)
	}
}

// TestDialSRVFallback dials a domain without SRV records: RFC 6120 §3.2.2
// says to fall back to the domain itself, port 5222.
func TestDialSRVFallback(t *testing.T) {
	var dnsErr *net.DNSError
	if _, _, err := net.DefaultResolver.LookupSRV(context.Background(), "xmpp-client", "tcp", "localhost"); !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Skipf("the resolver does not say localhost has no SRV records: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:5222")
	if err != nil {
		t.Skipf("port 5222 is not free: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		script(fakexmpp.DefaultFeatures)(&fakexmpp.Conn{Conn: nc})
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	c := dialT(t, Config{Domain: "localhost", Security: Plaintext})
	if h := c.Header(); h.ID != "s1" {
		t.Errorf("Header() = %+v", h)
	}
	c.Close()
}

// A plaintext setting in front of a server that requires STARTTLS cannot
// work: the browser hears remote-connection-failed (not empty features, nor
// a wrong password), and the error says why.
func TestPlaintextToServerRequiringTLS(t *testing.T) {
	const mechs = "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism></mechanisms>"
	for _, tt := range []struct {
		name, features string
		refused        bool
	}{
		{"required", "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>" + mechs + "</stream:features>", true},
		{"offered with no mechanism", "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>", true},
		{"offered with mechanisms", "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>" + mechs + "</stream:features>", false},
		{"offered after SASL, as Prosody does", "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><required/></bind></stream:features>", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := fakexmpp.Start(t, func(c *fakexmpp.Conn) {
				if _, err := c.Read(); err != nil {
					return
				}
				if c.Send(fakexmpp.Header("s1")+tt.features) == nil {
					drain(c)
				}
			})
			c := dialT(t, plainCfg(srv))
			ev, err := c.Next()
			if !tt.refused {
				if err != nil || strings.Contains(string(ev.Data), "starttls") {
					t.Fatalf("Next: %q, %v; want the features without starttls", ev.Data, err)
				}
				return
			}
			wantCond(t, err, "remote-connection-failed")
			if !errors.Is(err, ErrTLSRequired) {
				t.Fatalf("Next: %v, want ErrTLSRequired", err)
			}
			_, err = Login(context.Background(), plainCfg(srv), Credentials{Username: "alice", Password: "secret", Resource: ""})
			if xe := wantCond(t, err, "remote-connection-failed"); xe.SASL || !errors.Is(err, ErrTLSRequired) {
				t.Fatalf("Login: %v (SASL %v), want ErrTLSRequired", err, xe.SASL)
			}
		})
	}
}
