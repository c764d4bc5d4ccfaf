// Package httphold lets an HTTP/1.1 handler answer its request later, from
// any goroutine, without keeping a goroutine or net/http's buffers while the
// request waits — what a long-poll (BOSH, the JSON API's polls and event
// streams) does with most of its requests most of the time.
//
// The handler calls Hold, hands the Held to whatever will answer, and
// returns through Wait (or answers at once with Reply). When it can, Wait
// takes the connection over (http.Hijacker): an answer given by then is
// written at once, and the connection parked for the client's next
// request; otherwise it parks it in the network poller on a fresh goroutine
// whose stack is still small (package netwait), noticing the client going
// away without reading. Answer, from any
// goroutine, wakes that goroutine, which writes the response itself; then,
// between keep-alive requests, the connection is parked again until the
// client sends its next request, when it is handed back to the http.Server
// through the Listener the server accepts from. So a held request costs a
// parked goroutine's few kilobytes, and an idle keep-alive connection no
// more, instead of net/http's handler goroutine, its background reader and
// its buffers.
//
// A request that cannot be taken over — HTTP/2, TLS, a server that does not
// serve from a Listener of this package (Listener.ConnContext tells Hold
// which connection a request came on), bytes pipelined behind it — waits the
// usual way: its handler goroutine blocks in Wait until the answer comes and
// writes it through the ResponseWriter. Callers cannot tell the difference.
//
// Answer must be called exactly once for every Held (later calls are
// ignored); the caller learns that a client went away through
// Options.OnGone and still answers.
//
// Concurrency: Answer may be called from any goroutine and never blocks.
// Listener is safe for concurrent use; its Close closes the connections
// parked between requests, not the held ones, which their answers close
// once the Listener is closed.
package httphold
