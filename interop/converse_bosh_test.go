//go:build integration

package interop

import (
	"testing"

	"github.com/xmppbridge/xmppbridge/bosh"
	"github.com/xmppbridge/xmppbridge/internal/testbed"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// TestConverseBridgeBOSH logs Converse.js in through the bridge's BOSH
// endpoint (XEP-0124/0206) from a page on another origin, as TestConverse
// does through the server's own endpoints and the bridge's WebSocket.
func TestConverseBridgeBOSH(t *testing.T) {
	eachServer(t, func(t *testing.T, p *testbed.Server) {
		page := startConverseTestbed(t, p)
		hub := newBridgeHub(t, p, xmppclient.StartTLS)
		h := bosh.New(bosh.Config{Hub: hub, CheckOrigin: allowOrigin(page)})
		url := serveBridge(t, hub, "/http-bind", h)
		converseLogin(t, page, converseEndpoint{name: "bridge-bosh", transport: "bosh", url: url}, p)
	})
}
