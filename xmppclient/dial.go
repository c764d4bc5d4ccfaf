package xmppclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"mellium.im/xmpp/dial"
	"mellium.im/xmpp/jid"
)

// Defaults of the Config fields whose zero value means one.
const (
	defaultDialTimeout  = 10 * time.Second
	defaultWriteTimeout = 10 * time.Second
	// DefaultMaxStanzaBytes bounds one stanza when Config.MaxStanzaBytes
	// is zero; the transports bound what browsers send the same way.
	DefaultMaxStanzaBytes = 256 << 10
)

func (cfg Config) withDefaults() (Config, error) {
	if cfg.Domain == "" {
		return cfg, &Error{Cond: condHostUnknown, Err: errors.New("xmppclient: Config.Domain is empty")}
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = defaultDialTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = defaultWriteTimeout
	}
	if cfg.MaxStanzaBytes <= 0 {
		cfg.MaxStanzaBytes = DefaultMaxStanzaBytes
	}
	if cfg.Keepalive == 0 {
		cfg.Keepalive = DefaultKeepalive
	}
	if cfg.KeepaliveTimeout <= 0 {
		cfg.KeepaliveTimeout = DefaultKeepaliveTimeout
	}
	return cfg, nil
}

// Dial opens a relayed stream (XEP-0206 style): it connects, secures the
// link as cfg.Security says, and returns once the server's stream header
// (after TLS, if any) is read. The features that follow are not consumed:
// the first Next returns them, filtered for the browser. DialTimeout bounds
// all of it.
//
// Failures are *Error: remote-connection-failed when the server cannot be
// reached or the link cannot be secured (Err holds the cause, for example
// the certificate error), policy-violation when Plaintext is asked for a
// non-loopback address, and the server's own condition when it sends a
// stream error while the link is negotiated.
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	c, err := open(ctx, &cfg, true)
	if err != nil {
		return nil, err
	}
	c.startKeepalive(false)
	return c, nil
}

// open connects, secures the link and reads the server's header.
func open(ctx context.Context, cfg *Config, relay bool) (*Conn, error) {
	raw, tc, err := connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	c := newConn(cfg, raw, tc)
	err = c.negotiate(ctx, func() error {
		if err := c.startStream(); err != nil {
			return err
		}
		if c.tlsc != nil || cfg.Security == Plaintext {
			return nil
		}
		start := time.Now()
		err := c.startTLS(ctx)
		cfg.observe(PhaseTLS, start, err)
		return err
	})
	if err != nil {
		c.Close()
		return nil, err
	}
	c.relay = relay
	return c, nil
}

// negotiate runs f with the deadline of ctx on the socket, and cuts it
// short when ctx is done.
func (c *Conn) negotiate(ctx context.Context, f func() error) error {
	if dl, ok := ctx.Deadline(); ok {
		c.setDeadlines(dl)
	}
	stop := context.AfterFunc(ctx, func() { c.setDeadlines(aLongTimeAgo) })
	err := f()
	if !stop() && err == nil {
		err = errors.New("xmppclient: negotiation cut short")
	}
	if err == nil {
		c.setDeadlines(time.Time{})
		return nil
	}
	if cause := cutShort(ctx, err); cause != nil {
		return &Error{Cond: condRemoteConnectionFailed, Err: fmt.Errorf("xmppclient: %w: %w", cause, err)}
	}
	var xe *Error
	if errors.As(err, &xe) {
		return err
	}
	return &Error{Cond: condRemoteConnectionFailed, Err: err}
}

// cutShort returns the context's error if it caused err: it is done, or
// err is the socket's deadline, which is the context's and may pass a
// moment before the context notices.
func cutShort(ctx context.Context, err error) error {
	if cause := ctx.Err(); cause != nil {
		return cause
	}
	if dl, ok := ctx.Deadline(); ok && errors.Is(err, os.ErrDeadlineExceeded) && !time.Now().Before(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// startStream sends our header and reads the server's.
func (c *Conn) startStream() error {
	if err := c.writeNegotiating(c.open); err != nil {
		return err
	}
	ev, err := c.negotiationNext()
	if err != nil {
		return err
	}
	if ev.Kind != EventHeader {
		return fmt.Errorf("xmppclient: expected the server's stream header, got %.64q", ev.Data)
	}
	return nil
}

// connect makes the TCP connection, with TLS at once when the address is a
// direct TLS one, and returns the socket and the TLS connection over it.
func connect(ctx context.Context, cfg *Config) (net.Conn, *tls.Conn, error) {
	addr := cfg.Addr
	if addr == "" {
		addr = literalAddr(cfg.Domain, cfg.Security)
	}
	if addr == "" {
		return connectSRV(ctx, cfg)
	}
	var d net.Dialer
	if cfg.PublicOnly {
		d.Control = publicOnly
	}
	var raw net.Conn
	var err error
	start := time.Now()
	if cfg.Security == Plaintext {
		raw, err = dialLoopback(ctx, &d, addr)
	} else {
		raw, err = d.DialContext(ctx, "tcp", addr)
	}
	cfg.observe(PhaseConnect, start, err)
	if err != nil {
		var xe *Error
		switch {
		case errors.As(err, &xe):
			return nil, nil, err
		case errors.Is(err, ErrNotPublic):
			return nil, nil, notPublicError(addr, err)
		}
		return nil, nil, &Error{Cond: condRemoteConnectionFailed, Err: fmt.Errorf("xmppclient: dial %s: %w", addr, err)}
	}
	if cfg.Security != DirectTLS {
		return raw, nil, nil
	}
	tc := tls.Client(raw, tlsConfig(cfg, true))
	start = time.Now()
	err = tc.HandshakeContext(ctx)
	cfg.observe(PhaseTLS, start, err)
	if err != nil {
		raw.Close()
		return nil, nil, &Error{Cond: condRemoteConnectionFailed, Err: fmt.Errorf("xmppclient: TLS with %s: %w", addr, err)}
	}
	return raw, tc, nil
}

// dialLoopback dials addr only if it is, or resolves to, a loopback
// address: plaintext never leaves the host.
func dialLoopback(ctx context.Context, d *net.Dialer, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	var last error
	tried := false
	for _, ip := range ips {
		if !ip.IsLoopback() {
			continue
		}
		tried = true
		c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		last = err
	}
	if !tried {
		return nil, plaintextRefused(addr)
	}
	return nil, last
}

func plaintextRefused(addr string) *Error {
	return &Error{Cond: condPolicyViolation, Err: fmt.Errorf("xmppclient: plaintext refused: %s is not a loopback address", addr)}
}

// connectSRV finds the server through DNS (RFC 6120 §3.2 _xmpp-client._tcp,
// XEP-0368 _xmpps-client._tcp, falling back to the domain itself on ports
// 5223 with TLS and 5222) and connects. Unless the config asks for
// Plaintext, a direct TLS record is tried first and a STARTTLS one next:
// the link ends up TLS either way.
func connectSRV(ctx context.Context, cfg *Config) (net.Conn, *tls.Conn, error) {
	addr, err := jid.New("", cfg.Domain, "")
	if err != nil {
		return nil, nil, &Error{Cond: condHostUnknown, Err: fmt.Errorf("xmppclient: domain %q: %w", cfg.Domain, err)}
	}
	d := dial.Dialer{NoTLS: cfg.Security == Plaintext, TLSConfig: tlsConfig(cfg, true)}
	if cfg.PublicOnly {
		d.Dialer.Control = publicOnly
	}
	start := time.Now()
	nc, err := d.Dial(ctx, "tcp", addr)
	cfg.observe(PhaseConnect, start, err)
	if errors.Is(err, ErrNotPublic) {
		return nil, nil, notPublicError(cfg.Domain, err)
	}
	if err != nil {
		return nil, nil, &Error{Cond: condRemoteConnectionFailed, Err: fmt.Errorf("xmppclient: dial %s: %w", cfg.Domain, err)}
	}
	if tc, ok := nc.(*tls.Conn); ok {
		return tc.NetConn(), tc, nil
	}
	if cfg.Security == Plaintext {
		if ta, ok := nc.RemoteAddr().(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
			nc.Close()
			return nil, nil, plaintextRefused(nc.RemoteAddr().String())
		}
	}
	return nc, nil, nil
}

// tlsConfig is the TLS configuration for the link: cfg.TLS cloned, the
// server name defaulting to the domain, verification always on, and the
// XEP-0368 ALPN protocol for direct TLS.
func tlsConfig(cfg *Config, direct bool) *tls.Config {
	t := &tls.Config{}
	if cfg.TLS != nil {
		t = cfg.TLS.Clone()
	}
	if t.ServerName == "" {
		// An IPv6 domain is certified as the bare address.
		t.ServerName = strings.Trim(cfg.Domain, "[]")
	}
	t.InsecureSkipVerify = false
	if direct && len(t.NextProtos) == 0 {
		t.NextProtos = []string{"xmpp-client"}
	}
	return t
}
