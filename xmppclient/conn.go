package xmppclient

import (
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/netwait"
)

// closeGrace is how long Next waits for the server's </stream:stream> after
// CloseStream before it gives up with a timeout error. A variable only so
// that tests can shorten it.
var closeGrace = 5 * time.Second

var closeTag = []byte("</stream:stream>")

// Conn is one upstream stream. See the package documentation for which
// methods may be called concurrently.
type Conn struct {
	cfg   Config // defaults filled in
	relay bool   // opened by Dial and negotiated: filter features for the browser
	open  []byte // our stream header

	// raw is the socket; nc is what the stream is read from and written
	// to: raw itself, or a *tls.Conn over it (then tlsc is set too).
	raw  net.Conn
	nc   net.Conn
	tlsc *tls.Conn
	// rawc lets Next wait for raw to become readable without a buffer;
	// nil when the platform or the connection type does not allow it.
	rawc syscall.RawConn

	rd reader // owned by the goroutine calling Next

	hmu sync.Mutex
	hdr Header

	wmu      sync.Mutex
	werr     error // sticky: the first write error
	closedSt bool  // CloseStream was called

	// dmu orders changes of the read deadline: the TLS probe in Next sets
	// one in the past and must then restore the one in force (rdl).
	dmu sync.Mutex
	rdl time.Time

	closeOnce sync.Once
	closeErr  error

	ka keepalive
	sm sm

	// early holds what the server sent while Login enabled stream
	// management, before <enabled/>: Next returns it first.
	early []Event

	jid    string
	mech   string  // the SASL mechanism Login used
	secret *Secret // what SCRAM derived from the password

	// onWait, if set (tests), is called by Next just before it parks
	// waiting for the socket to become readable.
	onWait func()
}

func newConn(cfg *Config, raw net.Conn, tc *tls.Conn) *Conn {
	c := &Conn{cfg: *cfg, open: openHeader(cfg), raw: raw, nc: raw}
	if tc != nil {
		c.nc, c.tlsc = tc, tc
	}
	c.rawc = netwait.For(raw)
	c.rd.sp.MaxBytes = cfg.MaxStanzaBytes
	// What the server relays comes partly from other users: an element
	// with a fault of its own is repaired or dropped, not the stream's end.
	c.rd.sp.Tolerant = true
	c.rd.max = cfg.MaxStanzaBytes + poolBufSize
	return c
}

// Header returns what the server said in its latest stream header.
func (c *Conn) Header() Header {
	c.hmu.Lock()
	defer c.hmu.Unlock()
	return c.hdr
}

func (c *Conn) setHeader(h Header) {
	c.hmu.Lock()
	c.hdr = h
	c.hmu.Unlock()
}

// JID returns the full JID the server bound for Login; empty for Dial.
func (c *Conn) JID() string { return c.jid }

// Secret is what a SCRAM login derived from the password, for logging in
// again without it (Credentials.Secret); nil after PLAIN or Dial.
func (c *Conn) Secret() *Secret { return c.secret }

// Secure reports whether the link to the server is protected by TLS.
func (c *Conn) Secure() bool { return c.tlsc != nil }

// Write sends b to the server as it is, within WriteTimeout. It is safe for
// concurrent use; writes are not interleaved. After the first failure the
// Conn is broken and every later Write returns the same error.
//
// On a stream whose stream management the Conn does itself, a stanza is
// kept until the server acknowledges it, and the server is asked to.
func (c *Conn) Write(b []byte) error {
	_, err := c.WriteKept(b)
	return err
}

// WriteKept is Write, and reports whether the Conn kept b for a resume
// (a stanza on a stream whose stream management it does): a kept stanza
// whose write failed is sent again by Resume, one not kept is lost with
// the link unless the caller sends it again.
func (c *Conn) WriteKept(b []byte) (kept bool, err error) {
	c.wmu.Lock()
	kept, err = c.write(b)
	c.wmu.Unlock()
	if kept && err == nil {
		c.askAck()
	}
	return kept, err
}

func (c *Conn) write(b []byte) (kept bool, err error) {
	if c.werr != nil {
		return false, c.werr
	}
	if err := c.nc.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout)); err != nil {
		c.werr = fmt.Errorf("xmppclient: write: %w", err)
		return false, c.werr
	}
	c.wrote(b)
	if c.sm.on {
		kept = c.smWrote(b)
	}
	return kept, c.writeLocked(b)
}

// writeLocked writes with whatever deadline is in force; c.wmu is held.
func (c *Conn) writeLocked(b []byte) error {
	if _, err := c.nc.Write(b); err != nil {
		c.werr = fmt.Errorf("xmppclient: write: %w", err)
		return c.werr
	}
	return nil
}

// writeNegotiating writes during Dial or Login, whose deadline is already
// set on the socket.
func (c *Conn) writeNegotiating(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return c.werr
	}
	return c.writeLocked(b)
}

// Restart sends a new stream header, the same as the first, as RFC 6120
// requires after SASL succeeds. The server's answering header comes out of
// Next as an EventHeader.
func (c *Conn) Restart() error { return c.Write(c.open) }

// CloseStream sends </stream:stream> once; later calls do nothing. It also
// limits how long Next waits for the server's own closing tag to
// closeGrace, so a server that never answers still ends Next. Writes after
// CloseStream fail.
func (c *Conn) CloseStream() error {
	c.stopKeepalive()
	c.wmu.Lock()
	if c.closedSt {
		c.wmu.Unlock()
		return nil
	}
	c.closedSt = true
	var err error
	if c.werr == nil {
		if err = c.nc.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout)); err == nil {
			err = c.writeLocked(closeTag)
		} else {
			err = fmt.Errorf("xmppclient: write: %w", err)
		}
		if err == nil {
			c.werr = errStreamClosed
		}
	}
	c.wmu.Unlock()
	c.setReadDeadline(time.Now().Add(closeGrace))
	return err
}

// Close closes the socket at once, without a TLS close_notify or a stream
// close. A Next waiting for data returns an error promptly. Only the first
// call does anything.
func (c *Conn) Close() error {
	c.stopKeepalive()
	c.closeOnce.Do(func() {
		if err := c.raw.Close(); err != nil {
			c.closeErr = fmt.Errorf("xmppclient: close: %w", err)
		}
	})
	return c.closeErr
}

// setReadDeadline sets the read deadline and remembers it for the TLS
// probe in Next.
func (c *Conn) setReadDeadline(t time.Time) {
	c.dmu.Lock()
	c.rdl = t
	_ = c.raw.SetReadDeadline(t)
	c.dmu.Unlock()
}

// setDeadlines sets both deadlines, as negotiation needs.
func (c *Conn) setDeadlines(t time.Time) {
	c.setReadDeadline(t)
	_ = c.raw.SetWriteDeadline(t)
}
