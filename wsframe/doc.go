// Package wsframe is xmppbridge's WebSocket front door: the XMPP subprotocol
// for WebSocket (RFC 7395) over one bridge.Session per connection.
//
// Each WebSocket message from the browser is checked to be exactly one
// well-formed element before anything is forwarded upstream; <open/> and
// <close/> in the framing namespace become stream headers and closes on the
// upstream stream.
//
// Concurrency: the connection itself is package wsconn's, shared with the
// JSON API's WebSocket: one read loop, parked on a fresh goroutine between
// messages, and at most one writer goroutine, started when something is
// waiting to be written and gone again when nothing is; it is the only
// goroutine that writes to the WebSocket (pings and pongs included), so an
// idle connection parks no writer and holds no write buffer. This package
// is its Framing. Handler.Shutdown waits for every goroutine the Handler
// started.
package wsframe
