// Package xmppclient opens one upstream XMPP client-to-server stream
// (RFC 6120) for one browser user and relays it as raw top-level elements.
//
// There are two ways in. Dial opens a relayed stream: the bridge secures the
// link itself (STARTTLS or direct TLS, verified by default) and the browser's
// own client then does SASL and resource binding through it, as XEP-0206
// describes for connection managers. Login opens a bridge-authenticated
// stream: the bridge does SASL (SCRAM-SHA-256, SCRAM-SHA-1, PLAIN only over
// TLS) and binds a resource itself.
//
// Concurrency: one goroutine calls Next; Write, Restart, CloseStream and Close
// may be called from any goroutine. Next holds no read buffer while it waits
// for data, so an idle Conn costs little memory.
package xmppclient
