// Package bridge is the per-user session core of xmppbridge: it pairs one
// browser-facing transport (wsframe, bosh) with one upstream XMPP stream
// (xmppclient) and carries elements between them in order.
//
// Upstream to browser, a session's one reader goroutine puts every element
// the server sends into the session's bounded queue and never blocks on the
// browser: a queue that overflows ends that session alone. The transport
// pulls from the queue when the session wakes it (Transport.Wake), so a
// transport needs no goroutine while nothing is pending. Every session ends
// with exactly one final item that carries a CloseError (nil for a clean
// end), after all items that were queued before it unless the reason says to
// discard them.
//
// Browser to upstream, the transport calls Send, Restart and End from its
// one read loop; they write to the upstream socket with a deadline.
//
// Concurrency: Hub and Session methods are safe for concurrent use. Wake is
// called from the session's reader goroutine or from End, at most once per
// idle period (after Pull has returned nothing), and must not block.
package bridge
