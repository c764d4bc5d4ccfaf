//go:build integration

package interop

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/testbed"
)

// scriptTimeout bounds one run of login-and-chat.mjs from outside; the
// script's own --timeout (30 s by default) should end it first.
const scriptTimeout = 2 * time.Minute

// servers are the XMPP servers the tests share, one of each kind, started
// when a test first needs it. Every test runs against each kind (eachServer
// or eachKind), so what passes against Prosody must pass against ejabberd.
// login-and-chat.mjs tags its messages with a run id and ignores others, so
// runs on one server do not disturb each other.
var servers testbed.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	servers.Stop()
	removeDaemon()
	os.Exit(code)
}

// eachKind runs f as a subtest for every kind of server the testbed has,
// named after it.
func eachKind(t *testing.T, f func(t *testing.T, kind testbed.Kind)) {
	t.Helper()
	for _, kind := range testbed.Kinds {
		t.Run(string(kind), func(t *testing.T) { f(t, kind) })
	}
}

// eachServer runs f as a subtest for every kind of server, on the shared
// server of that kind.
func eachServer(t *testing.T, f func(t *testing.T, p *testbed.Server)) {
	t.Helper()
	eachKind(t, func(t *testing.T, kind testbed.Kind) {
		f(t, servers.Get(t, testbed.Options{Kind: kind}))
	})
}

// chat runs login-and-chat.mjs with lib against url and checks its summary.
func chat(t *testing.T, lib, url, domain string, extra ...string) Summary {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	const count = 20
	args := append([]string{"--lib", lib, "--url", url, "--domain", domain, "--count", strconv.Itoa(count)}, extra...)
	out, err := RunScript(ctx, "login-and-chat.mjs", args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	s, err := ParseSummary(out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !s.OK || s.Sent != 2*count || s.Received != 2*count {
		t.Fatalf("summary: ok=%v sent=%d received=%d error=%q\n%s", s.OK, s.Sent, s.Received, s.Error, out)
	}
	if s.Mechanism != "SCRAM-SHA-1" {
		t.Errorf("mechanism = %q, want SCRAM-SHA-1", s.Mechanism)
	}
	t.Logf("%s: %d messages each way in %d ms (stream management: %v)", lib, count, s.MS, s.SM)
	return s
}

// TestDirect runs the clients against the server's own WebSocket endpoint
// (Prosody's mod_websocket, ejabberd's ejabberd_http_ws): what passes here
// is what the bridge must pass too.
func TestDirect(t *testing.T) {
	eachServer(t, func(t *testing.T, p *testbed.Server) {
		for _, lib := range Libs {
			t.Run(lib, func(t *testing.T) {
				s := chat(t, lib, p.WSURL, p.Domain)
				if lib == "xmppjs" && !s.SM {
					t.Errorf("xmpp.js did not enable stream management against %s", p.Kind)
				}
			})
		}
	})
}

// TestDirectBOSH runs Strophe.js, the one library here that speaks BOSH,
// against the server's own BOSH endpoint (mod_bosh on both).
func TestDirectBOSH(t *testing.T) {
	eachServer(t, func(t *testing.T, p *testbed.Server) {
		t.Run("strophe", func(t *testing.T) {
			chat(t, "strophe", p.BOSHURL, p.Domain)
		})
	})
}

// TestDirectOtherUsers checks the script with users added for the test,
// whose password has markup characters and non-ASCII letters.
func TestDirectOtherUsers(t *testing.T) {
	eachServer(t, func(t *testing.T, p *testbed.Server) {
		const password = `pässwörd <&>"'`
		p.AddUser(t, "dave", password)
		p.AddUser(t, "erin", password)
		for _, lib := range Libs {
			t.Run(lib, func(t *testing.T) {
				chat(t, lib, p.WSURL, p.Domain, "--users", "dave,erin", "--password", password)
			})
		}
	})
}
