package xmppclient

import (
	"crypto/tls"
	"time"
)

// Security says how the upstream link is protected.
type Security uint8

const (
	// StartTLS (the zero value) requires STARTTLS (RFC 6120 §5); a server
	// that does not offer it is an error.
	StartTLS Security = iota
	// DirectTLS starts TLS at connect time (XEP-0368).
	DirectTLS
	// Plaintext uses no TLS at all. Dial and Login refuse it unless the
	// address dialled is a loopback address.
	Plaintext
)

// Config says where and how to open the upstream stream. The zero value of
// each field is its documented default.
type Config struct {
	// Domain is the XMPP domain: the stream's 'to'. Required.
	Domain string
	// Addr is the host:port to dial. Empty means: look up RFC 6120
	// _xmpp-client._tcp and XEP-0368 _xmpps-client._tcp SRV records for
	// Domain, else Domain:5222; a Domain that is an IP literal (192.0.2.7,
	// [2001:db8::7]) is dialled on 5222 (5223 for DirectTLS).
	Addr string
	// Security is how the link is protected (default StartTLS).
	Security Security
	// TLS is cloned for the upstream link. Nil means the system roots and
	// ServerName = Domain. Certificates are always verified.
	TLS *tls.Config
	// Lang is the xml:lang of the stream headers we send; empty omits it.
	Lang string
	// From is the optional 'from' of the stream headers we send.
	From string
	// DialTimeout bounds connecting and negotiating TLS (and, for Login, the
	// whole login). Zero means 10 seconds.
	DialTimeout time.Duration
	// WriteTimeout bounds every write to the server. Zero means 10 seconds.
	WriteTimeout time.Duration
	// MaxStanzaBytes is the largest element accepted from the server; a
	// larger one is a policy-violation error. Zero means 256 KiB.
	MaxStanzaBytes int
	// Keepalive is how long the server may be silent before the Conn asks
	// it for a sign of life (an XEP-0199 ping, or an XEP-0198 <r/> once
	// stream management is on; never before a resource is bound, and never
	// seen by the caller). Zero means 60 seconds; negative turns the
	// keepalive off.
	Keepalive time.Duration
	// KeepaliveTimeout is how long the server has to show a sign of life
	// once asked; then the Conn is closed and Next fails with a
	// remote-connection-failed *Error. A dead or hung server is so noticed
	// within 2×Keepalive + KeepaliveTimeout. Zero means 20 seconds.
	KeepaliveTimeout time.Duration
	// StreamManagement makes Login enable XEP-0198 with resumption when the
	// server offers it, and do it for the caller (see Conn.Handled,
	// Event.Seq, EventAcked, Resume). Dial ignores it: on a relayed stream
	// stream management is the browser's.
	StreamManagement bool
	// Observe, if set, is told how long each phase of opening the stream
	// took (Dial, Login, Resume), and its error if it failed: for
	// metrics. It runs on the opening goroutine and must not block.
	Observe func(p Phase, d time.Duration, err error)
	// PublicOnly refuses to connect to addresses no server on the internet
	// has (Public): loopback, private, link-local and the like, whatever
	// SRV and A/AAAA lookups, or the Domain itself, lead to. For domains
	// the bridge reaches for anyone who asks, so that a browser cannot use
	// it to reach what only the bridge's network can. A refusal is a
	// host-unknown *Error wrapping ErrNotPublic.
	PublicOnly bool
}

// Header is what the server said in its latest stream header.
type Header struct {
	ID, From, To, Lang, Version string
}

// EventKind says what Next found.
type EventKind uint8

const (
	// EventHeader: the server (re)opened its stream; Event.Header is set.
	EventHeader EventKind = iota + 1
	// EventElement: one top-level element (stanza, features, SASL, stream
	// error, stream management nonza, ...); Event.Data is set.
	EventElement
	// EventEnd: the server closed its stream (</stream:stream>).
	EventEnd
	// EventStreamError: the server's <stream:error/> (RFC 6120 §4.9),
	// recognised by its namespace whatever its prefix; Event.Data is the
	// element as for EventElement, Event.StreamError what it says. The
	// stream's end follows.
	EventStreamError
	// EventDropped: the server sent an element that is well-formed XML but
	// breaks a rule of its own that no equivalent element mends (see
	// Event.Fault). It was skipped; the stream goes on. Event.Data is nil.
	EventDropped
	// EventAcked: on a stream whose stream management the Conn does itself
	// (Config.StreamManagement), the server acknowledged the stanzas the
	// caller wrote up to Event.Seq.
	EventAcked
)

// Event is one thing read from the server.
type Event struct {
	Kind   EventKind
	Header Header
	// Data is the element exactly as the server sent it, or as it was
	// repaired (see Fault). The receiver owns it: Next copies it out of the
	// read buffer.
	Data []byte
	// NS holds the namespace declarations (e.g. " xmlns='jabber:client'")
	// that must be inserted at offset NSAt of Data for the element to stand
	// alone outside the stream (AppendStandalone does). Empty when none
	// are needed.
	NS   string
	NSAt int
	// StreamError is set for EventStreamError.
	StreamError *StreamError
	// Fault, for EventDropped, says why the element was dropped; for an
	// EventElement, that the server's element was not namespace-well-formed
	// and Data is its repaired equivalent (xmlsplit.Repair), standing alone.
	// A server relays what third parties send, so one user can make it send
	// another such an element; it ends nothing.
	Fault error
	// Seq, on a stream whose stream management the Conn does itself,
	// numbers the stanzas read from 1 (a dropped one too), for Handled;
	// 0 for anything else. For EventAcked it is the count acknowledged.
	Seq uint64
}

// StreamError is what a <stream:error/> from the server says.
type StreamError struct {
	// Condition is the defined condition of RFC 6120 §4.9.3, or
	// "undefined-condition" for any other.
	Condition string
	// Text is the server's <text/>, if any.
	Text string
}

// Credentials are what Login uses. Username is the localpart; Resource may be
// empty to let the server choose one. Secret, when set, stands for the
// Password: the salted password of an earlier SCRAM login (Conn.Secret).
type Credentials struct {
	Username, Password, Resource string
	Secret                       *Secret
}

// Error is how Dial, Login and Next report a failure the browser should hear
// about as a server would say it.
type Error struct {
	// Cond is the RFC 6120 §4.9.3 stream error condition to give the
	// browser ("remote-connection-failed", "host-unknown",
	// "policy-violation", "not-well-formed", ...) or, when SASL is true,
	// the RFC 6120 §6.5 SASL failure condition ("not-authorized", ...).
	Cond string
	// SASL marks a SASL failure (Login only).
	SASL bool
	// Text is the server's own text, if it sent one.
	Text string
	// Err is the cause, for logs (dial error, certificate error, ...).
	Err error
}

func (e *Error) Error() string {
	s := "xmppclient: " + e.Cond
	if e.Text != "" {
		s += " (" + e.Text + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }
