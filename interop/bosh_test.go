//go:build integration

package interop

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/xmppbridge/xmppbridge/bosh"
	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/testbed"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// startBridgeBOSH serves the bridge's BOSH endpoint in front of p and
// returns its URL.
func startBridgeBOSH(t *testing.T, p *testbed.Server, sec xmppclient.Security) string {
	t.Helper()
	hub := newBridgeHub(t, p, sec)
	return serveBridge(t, hub, "/http-bind", bosh.New(bosh.Config{Hub: hub}))
}

// TestBridgeBOSH runs Strophe.js, as TestDirectBOSH does against the
// server's own mod_bosh, through the bridge's BOSH endpoint, with the
// upstream link secured by verified STARTTLS and in plaintext over loopback.
func TestBridgeBOSH(t *testing.T) {
	eachServer(t, func(t *testing.T, p *testbed.Server) {
		for _, mode := range []struct {
			name string
			sec  xmppclient.Security
		}{{"starttls", xmppclient.StartTLS}, {"plaintext", xmppclient.Plaintext}} {
			url := startBridgeBOSH(t, p, mode.sec)
			t.Run(mode.name+"/strophe", func(t *testing.T) {
				chat(t, "strophe", url, p.Domain)
			})
		}
	})
}

// TestBridgeBOSHMixed has a Strophe.js user on the bridge's BOSH endpoint
// talk to one on the server's own BOSH endpoint, and one on its WebSocket
// endpoint.
func TestBridgeBOSHMixed(t *testing.T) {
	eachServer(t, func(t *testing.T, p *testbed.Server) {
		url := startBridgeBOSH(t, p, xmppclient.StartTLS)
		for _, peer := range []struct{ name, url string }{{"server-bosh", p.BOSHURL}, {"server-websocket", p.WSURL}} {
			t.Run(peer.name, func(t *testing.T) {
				chat(t, "strophe", url, p.Domain, "--peer-url", peer.url)
			})
		}
	})
}

// TestBridgeBOSHPrebind has the bridge log alice in itself (Prebind) and
// Strophe.js attach to that session (Connection.attach) and chat with bob,
// who logs in through the bridge's BOSH endpoint or through the server's
// own.
func TestBridgeBOSHPrebind(t *testing.T) {
	eachServer(t, func(t *testing.T, p *testbed.Server) {
		hub := newBridgeHub(t, p, xmppclient.StartTLS)
		h := bosh.New(bosh.Config{Hub: hub})
		url := serveBridge(t, hub, "/http-bind", h)
		for _, peer := range []struct{ name, url string }{{"bridge", url}, {"server-bosh", p.BOSHURL}} {
			t.Run(peer.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
				defer cancel()
				pb, err := h.Prebind(ctx, bosh.PrebindRequest{To: p.Domain, Credentials: xmppclient.Credentials{
					Username: "alice", Password: testbed.Password, Resource: "prebound-" + peer.name,
				}})
				if err != nil {
					t.Fatalf("Prebind: %v", err)
				}
				if want := "alice@" + p.Domain + "/prebound-" + peer.name; pb.JID != want {
					t.Fatalf("bound %q, want %q", pb.JID, want)
				}
				attach := fmt.Sprintf("%s,%s,%d", pb.JID, pb.SID, pb.NextRID())
				s := chat(t, "strophe", url, p.Domain, "--attach", attach, "--peer-url", peer.url)
				if len(s.JIDs) != 2 || s.JIDs[0] != pb.JID {
					t.Errorf("JIDs %q, want the prebound %s first", s.JIDs, pb.JID)
				}
			})
		}
	})
}

// A prebind with a wrong password fails with not-authorized and leaves no
// session.
func TestBridgeBOSHPrebindRefused(t *testing.T) {
	eachServer(t, func(t *testing.T, p *testbed.Server) {
		hub := newBridgeHub(t, p, xmppclient.StartTLS)
		h := bosh.New(bosh.Config{Hub: hub})
		serveBridge(t, hub, "/http-bind", h)
		_, err := h.Prebind(context.Background(), bosh.PrebindRequest{To: p.Domain, Credentials: xmppclient.Credentials{
			Username: "alice", Password: "wrong",
		}})
		var ce *bridge.CloseError
		if !errors.As(err, &ce) || ce.Reason != bridge.ReasonNotAuthorized {
			t.Fatalf("Prebind = %v, want not-authorized", err)
		}
		if h.Len() != 0 {
			t.Fatalf("%d BOSH sessions left", h.Len())
		}
	})
}
