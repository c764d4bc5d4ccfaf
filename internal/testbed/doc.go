// Package testbed starts a private Prosody on loopback for integration tests,
// through scripts/testbed.sh: its own config, data, logs and self-signed
// certificate in a temporary directory, free ports, the users alice, bob and
// carol (password Password), STARTTLS offered but not required, WebSocket and
// BOSH endpoints, and stream management on.
//
// Tests that use it carry the build tag "integration"; scripts/test.sh runs
// them. A Prosody that cannot be started fails the test: it never skips.
//
// Concurrency: Start, StartMain and the methods of Prosody may be called from
// any goroutine, except that Start and AddUser fail the test through t and so
// follow the rules of testing.TB. Each Prosody is independent, so parallel
// tests may each start their own. Prosody is stopped when the test ends, and
// also when the test binary dies, so a killed run leaves no server behind.
package testbed
