//go:build integration && ignore

// This file needs package bosh, which is not in the tree yet, so it is built
// by nothing: "ignore" also keeps go mod tidy from looking for the package.
// Once package bosh is in, the constraint becomes plain "integration" and
// scripts/test.sh runs it with the rest.

package interop

import (
	"testing"

	"github.com/xmppbridge/xmppbridge/bosh"
)

// TestConverseBridgeBOSH logs Converse.js in through the bridge's BOSH
// endpoint (XEP-0124/0206) from a page on another origin, as TestConverse
// does through Prosody's own endpoints and the bridge's WebSocket.
func TestConverseBridgeBOSH(t *testing.T) {
	p, page := startConverseTestbed(t)
	hub := newBridgeHub(t, p)
	h := bosh.New(bosh.Config{Hub: hub, CheckOrigin: allowOrigin(page)})
	url := serveBridge(t, hub, "/http-bind", h)
	converseLogin(t, page, converseEndpoint{name: "bridge-bosh", transport: "bosh", url: url}, p.Domain)
}
