// Package wsconn serves a WebSocket connection so that an idle one costs as
// little as it can: the connection machinery that the XMPP framing
// (wsframe, RFC 7395) and the JSON API's WebSocket share, each supplying
// only its Framing.
//
// Between messages the reader parks on a fresh goroutine whose stack is
// still small, in the network poller (package netwait), answering pings and
// taking pongs itself, so that a keepalive exchange does not wake the read
// loop; the read buffer is one of this package's, small and known to be
// empty. The writer is a goroutine started only while something is waiting
// to be written, and the only one that writes to the connection (pings and
// pongs included); keepalive pings come from a timer. So an idle connection
// holds one parked goroutine, its timer and its buffers.
//
// Concurrency: each Conn has one read loop at a time and at most one writer
// goroutine; Framing.Message runs on the read loop, Framing.Flush on the
// writer, Framing.Closed once on the read loop at its end. Wake and Close
// may be called from any goroutine. Every goroutine is counted in the
// Server's WaitGroup, which its owner waits on at shutdown.
package wsconn
