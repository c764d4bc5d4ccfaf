//go:build integration

package interop

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/xmppbridge/xmppbridge/internal/discovery"
	"github.com/xmppbridge/xmppbridge/internal/testbed"
	"github.com/xmppbridge/xmppbridge/internal/testcert"
	"github.com/xmppbridge/xmppbridge/wsframe"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// TestConverseDiscovery logs Converse.js in with discover_connection_methods
// and no endpoint URL: it fetches https://localhost/.well-known/host-meta
// (localhost is alice's domain), must find the bridge's WebSocket endpoint
// there, and log in through it.
//
// Converse asks https://DOMAIN/ on the default port and takes only wss://
// and https:// links, so the bridge is served over TLS with a certificate
// made here, and Chromium is told two things on its command line: with
// --host-resolver-rules, that localhost is 127.0.0.1 at the server's port
// (the rule replaces the port of the URL, so https://localhost/ and
// wss://localhost/ reach the test server; every other name still does not
// resolve), and with --ignore-certificate-errors-spki-list, to trust that
// one certificate's key.
func TestConverseDiscovery(t *testing.T) {
	eachServer(t, testConverseDiscovery)
}

func testConverseDiscovery(t *testing.T, p *testbed.Server) {
	page := startConverseTestbed(t, p)
	cert := testcert.New(t, "localhost")

	hub := newBridgeHub(t, p, xmppclient.StartTLS)
	ws := wsframe.New(wsframe.Config{Hub: hub, CheckOrigin: allowOrigin(page)})
	public, _ := url.Parse("https://" + p.Domain)
	hostMeta := discovery.Handler(discovery.Config{PublicURL: public, WebSocketPath: "/xmpp-websocket", BOSHPath: "/http-bind"})
	mux := http.NewServeMux()
	mux.Handle("/xmpp-websocket", ws)
	mux.Handle(discovery.HostMetaPath, hostMeta)
	mux.Handle(discovery.HostMetaJSONPath, hostMeta)
	srv := httptest.NewUnstartedServer(mux)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert.TLS}}
	srv.StartTLS()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := hub.Shutdown(ctx); err != nil {
			t.Errorf("hub shutdown: %v", err)
		}
		if err := ws.Shutdown(ctx); err != nil {
			t.Errorf("websocket shutdown: %v", err)
		}
		srv.Close()
	})

	converseLogin(t, page, converseEndpoint{
		name:      "bridge-discovered",
		transport: "websocket",
		// What host-meta advertises, and so what Converse must use: the
		// WebSocket endpoint is preferred to BOSH when both are listed.
		url:      "wss://" + p.Domain + "/xmpp-websocket",
		discover: true,
		browser: []chromedp.ExecAllocatorOption{
			HostRules([2]string{p.Domain, srv.Listener.Addr().String()}),
			chromedp.Flag("ignore-certificate-errors-spki-list", cert.SPKIHash()),
		},
	}, p)
}
