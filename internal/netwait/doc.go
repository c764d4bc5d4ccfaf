// Package netwait lets a goroutine wait for a socket to become readable
// without holding a read buffer: it parks in the runtime's network poller on
// a peek. A reader that would otherwise sit in Read with a buffer of its own
// for as long as its peer is idle can wait here instead, and can hand that
// wait to a fresh goroutine whose stack is still small: with thousands of
// idle connections, the buffers and grown stacks are most of the memory.
//
// Only sockets of the host's network stack on Unix can be waited on this
// way; For returns nil for anything else (a *tls.Conn, a net.Pipe, another
// platform), and the caller reads as usual.
package netwait
