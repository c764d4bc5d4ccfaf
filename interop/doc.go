// Package interop runs real npm XMPP client libraries against Prosody and
// ejabberd and against the bridge in front of each, from go test.
//
// The directory is also a Node project: package.json and package-lock.json
// pin @xmpp/client and Strophe.js (with ws, @xmldom/xmldom and xhr2, which
// they need in Node), and login-and-chat.mjs logs two users in with one of
// them, has them exchange messages with hard content, checks that each
// arrives exactly once, in order and intact, and logs them out. Install the
// modules with "npm ci --prefix interop" (scripts/test.sh does it).
//
// The tests carry the build tag "integration". Every test runs once per
// server kind of internal/testbed, as subtests named prosody and ejabberd,
// on one server of each kind shared by the package's tests (TestDemo, which
// changes rosters, starts its own). TestDirect runs the script against the
// server's own endpoints, which shows the script itself is fair; tests of
// the bridge run the same script against the bridge with RunScript.
//
// TestConverse drives Converse.js (also pinned in package.json) in Debian's
// headless Chromium through chromedp: the page in browser/ logs alice in,
// from another loopback origin, and must show her roster, over the server's
// own BOSH and WebSocket endpoints and over the bridge's. Screenshots and
// logs land in interop/artifacts/, named after the server kind.
//
// TestConverseResume runs Converse.js with XEP-0198 stream management and
// auto_reconnect across a real drop of its connection: a cutProxy between
// the page and the endpoint resets every connection and refuses new ones
// for some seconds while another user sends a message. Converse must
// resume its stream and show the message exactly once, straight to the
// server and through the bridge; and through the real daemon process (built
// once per run, with -race when the tests have it) killed with SIGKILL and
// started again, and drained with SIGTERM while a second daemon, named by
// [websocket] drain_url, takes the reconnect. TestXmppjsResume does the
// cut with xmpp.js in Node (resume.mjs, which reports to the test in lines
// on stdout), straight to the server and through the bridge.
// TestConverseBOSHCut cuts Converse.js over BOSH for a few seconds: the
// BOSH session must go on and show the message once.
//
// Concurrency: RunScript may be called from any goroutine; each call runs
// its own node process.
package interop
