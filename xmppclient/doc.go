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
// With Config.Addr empty the server is found through DNS: XEP-0368
// _xmpps-client._tcp records (direct TLS) are tried before RFC 6120
// _xmpp-client._tcp ones (STARTTLS), and a domain without records is tried
// on ports 5223 (direct TLS) and 5222. Then StartTLS and DirectTLS both mean
// "TLS, whichever way the records allow"; Plaintext uses only
// _xmpp-client._tcp and still only loopback addresses.
//
// Elements come out of Next exactly as the server sent them, with the
// namespace declarations they borrow from the stream header beside them
// (Event.NS, Event.NSAt), so a transport can frame each one on its own.
// On a Dial stream, <stream:features/> are the one exception: what the
// browser cannot use through the bridge is taken out (see Conn.Next).
//
// Concurrency: one goroutine calls Next; Write, Restart, CloseStream and Close
// may be called from any goroutine. Next holds no read buffer while it waits
// for data, so an idle Conn costs little memory: it parks on the socket
// and borrows a pooled buffer only once there is something to read. (On a
// TLS link crypto/tls keeps its own record buffer, which this package does
// not control.)
package xmppclient
