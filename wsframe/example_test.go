package wsframe_test

import (
	"context"
	"net/http"
	"time"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/wsframe"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// A bridge in front of one XMPP server on the same box, serving RFC 7395
// at /xmpp-websocket, drained on shutdown.
func Example() {
	hub := bridge.New(bridge.Config{
		Upstream: func(domain string) (xmppclient.Config, error) {
			return xmppclient.Config{Domain: domain, Addr: "127.0.0.1:5222", Security: xmppclient.Plaintext}, nil
		},
	})
	ws := wsframe.New(wsframe.Config{Hub: hub})
	mux := http.NewServeMux()
	mux.Handle("/xmpp-websocket", ws)
	srv := &http.Server{Addr: "127.0.0.1:5280", Handler: mux}
	go srv.ListenAndServe()

	// Later, on SIGTERM:
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(ctx) // stop accepting
	hub.Shutdown(ctx) // system-shutdown to every session, upstream streams closed
	ws.Shutdown(ctx)  // wait for the browsers' closing handshakes
}
