// Package testbed starts a private XMPP server on loopback for integration
// tests, Prosody or ejabberd (Kind), through scripts/testbed.sh: its own
// config, data, logs and self-signed certificate in a temporary directory,
// free ports, the users alice, bob and carol (password Password), STARTTLS
// offered but not required, WebSocket and BOSH endpoints, and stream
// management on. Both kinds have the same API (Server), so a test runs
// against each by looping over Kinds; Prosody, the name of Server from when
// there was only Prosody, still works, and Start starts Prosody.
//
// Tests that use it carry the build tag "integration"; scripts/test.sh runs
// them. A server that cannot be started fails the test: it never skips.
//
// A test starts a server of its own with Start or StartWith; a package whose
// tests can share servers starts one in TestMain with StartMain, or one of
// each kind on demand with Shared.
//
// Concurrency: Start, StartMain, the methods of Server and Shared.Get may be
// called from any goroutine, except that Start, AddUser and Get fail the
// test through t and so follow the rules of testing.TB. Each Server is
// independent, so parallel tests may each start their own. A server is
// stopped when the test (or Shared.Stop) ends it, and also when the test
// binary dies, so a killed run leaves no server behind.
package testbed
