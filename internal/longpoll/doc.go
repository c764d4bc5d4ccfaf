// Package longpoll is the request engine of XEP-0124 (BOSH) that both
// long-polling transports share: package bosh, with its <body/> framing,
// and the JSON API's long-poll and event-stream posts, with JSON frames.
//
// A Session owns what the specification asks of a connection manager
// whatever the payloads look like: the window of request ids (rids) and
// their in-order intake (a request ahead of its turn waits for the ones
// before it, bounded), answers kept for a client that resends a rid
// because it lost the answer, requests held until there is something to
// say or their wait runs out (at most hold of them; a newer one releases
// the oldest), pauses, and the inactivity that ends a session nobody asks
// anything of. What goes in a request and in an answer is the transport's:
// it implements Content.
//
// A held request costs no goroutine here: its answer is built when
// something happens — the transport pokes the session (data arrived), a
// timer fires, a newer request comes, the client goes away — and handed to
// its Reply, which must not block (an httphold.Held writes it on a
// goroutine of its own).
//
// Concurrency: a Session's methods are safe for concurrent use. Content's
// methods are called with the session's lock held — the transport guards
// its own per-session state with the same lock, taking it with Lock — except
// Take and Idle, which are called without it and may block. Replies are
// answered after the lock is released, in the order decided under it.
// Nothing of this package blocks on a client.
package longpoll
