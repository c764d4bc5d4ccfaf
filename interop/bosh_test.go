//go:build integration

package interop

import (
	"testing"

	"github.com/xmppbridge/xmppbridge/bosh"
	"github.com/xmppbridge/xmppbridge/internal/testbed"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// startBridgeBOSH serves the bridge's BOSH endpoint in front of p and
// returns its URL.
func startBridgeBOSH(t *testing.T, p *testbed.Prosody, sec xmppclient.Security) string {
	t.Helper()
	hub := newBridgeHub(t, p, sec)
	return serveBridge(t, hub, "/http-bind", bosh.New(bosh.Config{Hub: hub}))
}

// TestBridgeBOSH runs Strophe.js, as TestDirectBOSH does against Prosody's
// own mod_bosh, through the bridge's BOSH endpoint, with the upstream link
// secured by verified STARTTLS and in plaintext over loopback.
func TestBridgeBOSH(t *testing.T) {
	p := testbed.Start(t)
	for _, mode := range []struct {
		name string
		sec  xmppclient.Security
	}{{"starttls", xmppclient.StartTLS}, {"plaintext", xmppclient.Plaintext}} {
		url := startBridgeBOSH(t, p, mode.sec)
		t.Run(mode.name+"/strophe", func(t *testing.T) {
			chat(t, "strophe", url, p.Domain)
		})
	}
}

// TestBridgeBOSHMixed has a Strophe.js user on the bridge's BOSH endpoint
// talk to one on Prosody's own mod_bosh, and one on its WebSocket endpoint.
func TestBridgeBOSHMixed(t *testing.T) {
	p := testbed.Start(t)
	url := startBridgeBOSH(t, p, xmppclient.StartTLS)
	for _, peer := range []struct{ name, url string }{{"prosody-bosh", p.BOSHURL}, {"prosody-websocket", p.WSURL}} {
		t.Run(peer.name, func(t *testing.T) {
			chat(t, "strophe", url, p.Domain, "--peer-url", peer.url)
		})
	}
}
