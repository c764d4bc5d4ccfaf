//go:build integration

package interop

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/httphold"
	"github.com/xmppbridge/xmppbridge/internal/testbed"
	"github.com/xmppbridge/xmppbridge/wsframe"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// startBridge serves the bridge's WebSocket endpoint in front of p and
// returns its URL.
func startBridge(t *testing.T, p *testbed.Server, sec xmppclient.Security) string {
	t.Helper()
	hub := newBridgeHub(t, p, sec)
	u := serveBridge(t, hub, "/xmpp-websocket", wsframe.New(wsframe.Config{Hub: hub}))
	return "ws" + strings.TrimPrefix(u, "http")
}

// newBridgeHub returns a hub whose sessions go to p, over verified STARTTLS
// or plaintext loopback. serveBridge shuts it down.
func newBridgeHub(t *testing.T, p *testbed.Server, sec xmppclient.Security) *bridge.Hub {
	t.Helper()
	tlsCfg, err := p.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	return bridge.New(bridge.Config{Upstream: func(domain string) (xmppclient.Config, error) {
		return xmppclient.Config{Domain: domain, Addr: p.C2SAddr, Security: sec, TLS: tlsCfg}, nil
	}})
}

// bridgeTransport is what wsframe.Handler and the BOSH handler have in
// common.
type bridgeTransport interface {
	http.Handler
	Shutdown(ctx context.Context) error
}

// serveBridge serves h, a transport of hub, at path on loopback and returns
// its http:// URL. When the test ends it shuts down hub and then h, the
// order cmd/xmppbridge uses.
func serveBridge(t *testing.T, hub *bridge.Hub, path string, h bridgeTransport) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(path, h)
	// As cmd/xmppbridge serves: held requests are taken over (httphold).
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener = httphold.Attach(srv.Config, srv.Listener, 0)
	srv.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := hub.Shutdown(ctx); err != nil {
			t.Errorf("hub shutdown: %v", err)
		}
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("%s shutdown: %v", path, err)
		}
		srv.Close()
	})
	return srv.URL + path
}

// TestBridge runs the same clients and checks as TestDirect, through the
// bridge's WebSocket endpoint, with the upstream link secured by verified
// STARTTLS and, as a bridge on the server's own box may, in plaintext over
// loopback.
func TestBridge(t *testing.T) {
	eachServer(t, func(t *testing.T, p *testbed.Server) {
		for _, mode := range []struct {
			name string
			sec  xmppclient.Security
		}{{"starttls", xmppclient.StartTLS}, {"plaintext", xmppclient.Plaintext}} {
			url := startBridge(t, p, mode.sec)
			for _, lib := range Libs {
				t.Run(mode.name+"/"+lib, func(t *testing.T) {
					s := chat(t, lib, url, p.Domain)
					if lib == "xmppjs" && !s.SM {
						t.Error("xmpp.js did not enable stream management through the bridge")
					}
				})
			}
		}
	})
}

// TestBridgeMixed has a client on the bridge talk to one on the server's
// own WebSocket endpoint, both ways.
func TestBridgeMixed(t *testing.T) {
	eachServer(t, func(t *testing.T, p *testbed.Server) {
		url := startBridge(t, p, xmppclient.StartTLS)
		for _, lib := range Libs {
			t.Run(lib, func(t *testing.T) {
				chat(t, lib, url, p.Domain, "--peer-url", p.WSURL)
			})
		}
	})
}
