//go:build integration

package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
)

// TestDaemonAnyDomainIsPublicOnly: with allow_any_domain, a browser cannot
// make the bridge reach its own network, by an IP literal or by a name
// that resolves there; a [domain] table names such a server, IPv6 literal
// included.
func TestDaemonAnyDomainIsPublicOnly(t *testing.T) {
	up := fakexmpp.Start(t, fakexmpp.Echo)
	log := captureLog(t)
	addr, _ := startDaemonConfig(t, fmt.Sprintf(`
log_level = "debug"
allow_any_domain = true

[domain."[::1]"]
address = %q
security = "plaintext"
`, up.Addr))
	url := "ws://" + addr + "/xmpp-websocket"
	open := func(to string) *wsClient {
		c := dialWS(t, url)
		c.send(`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="` + to + `" version="1.0"/>`)
		return c
	}
	for _, to := range []string{"127.0.0.1", "[::2]", "10.1.2.3", "localhost"} {
		t.Run("refused "+to, func(t *testing.T) {
			c := open(to)
			if got := c.until("<stream:error"); !strings.Contains(got, "<host-unknown ") {
				t.Fatalf("to=%q: %s, want host-unknown", to, got)
			}
		})
	}
	// localhost is a name: it was looked up, and refused at its address.
	waitLog(t, log, `msg="session ended"`, "reason=host-unknown", "not a public address")
	t.Run("listed IPv6 literal", func(t *testing.T) {
		c := open("[::1]")
		c.until("<stream:features")
	})
}
