// Package fakexmpp is a scripted XMPP server on loopback for unit tests of
// edge cases a real server will not produce. Integration tests use a real
// Prosody (internal/testbed) instead.
//
// Concurrency: each accepted connection is served by its own goroutine
// running the test's handler; Close waits for all of them.
package fakexmpp
