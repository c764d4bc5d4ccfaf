package xmppclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
)

const nsTLS = "urn:ietf:params:xml:ns:xmpp-tls"

// startTLS upgrades the link as RFC 6120 §5 says, and reads the server's
// new stream header. A server that does not offer STARTTLS is an error: we
// never send credentials, nor let the browser send them, over a link the
// config did not allow to be unprotected.
func (c *Conn) startTLS(ctx context.Context) error {
	feat, err := c.readFeatures()
	if err != nil {
		return err
	}
	if findChild(&feat, "starttls", nsTLS) == nil {
		return remoteFailed("the server does not offer STARTTLS")
	}
	if err := c.writeNegotiating([]byte("<starttls xmlns='" + nsTLS + "'/>")); err != nil {
		return err
	}
	_, el, err := c.nextElement()
	if err != nil {
		return err
	}
	switch {
	case is(&el, "proceed", nsTLS):
	case is(&el, "failure", nsTLS):
		return remoteFailed("the server refused STARTTLS")
	default:
		return fmt.Errorf("xmppclient: expected <proceed/>, got %.64q", el.Raw)
	}
	if c.rd.buf != nil {
		// Bytes sent before the TLS handshake must not be taken as if
		// they came over TLS.
		return errors.New("xmppclient: data after <proceed/>")
	}
	tc := tls.Client(c.raw, tlsConfig(&c.cfg, false))
	if err := tc.HandshakeContext(ctx); err != nil {
		return &Error{Cond: condRemoteConnectionFailed, Err: fmt.Errorf("xmppclient: TLS: %w", err)}
	}
	c.wmu.Lock()
	c.nc, c.tlsc = tc, tc
	c.wmu.Unlock()
	c.rd.sp.Reset()
	return c.startStream()
}
