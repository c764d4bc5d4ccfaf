package bosh_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/xmppbridge/xmppbridge/bosh"
	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// A bridge in front of one XMPP server on the same box, serving BOSH at
// /http-bind to pages of one origin, drained on shutdown.
func Example() {
	hub := bridge.New(bridge.Config{
		Upstream: func(domain string) (xmppclient.Config, error) {
			return xmppclient.Config{Domain: domain, Addr: "127.0.0.1:5222", Security: xmppclient.Plaintext}, nil
		},
	})
	h := bosh.New(bosh.Config{
		Hub: hub,
		CheckOrigin: func(r *http.Request) bool {
			o := r.Header.Get("Origin")
			return o == "" || o == "https://chat.example.com"
		},
	})
	mux := http.NewServeMux()
	mux.Handle("/http-bind", h)
	srv := &http.Server{Addr: "127.0.0.1:5280", Handler: mux}
	go srv.ListenAndServe()

	// Later, on SIGTERM. Held requests are ordinary HTTP requests, so the
	// server's Shutdown waits for them: it runs beside the drain.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Shutdown(ctx) }() // stop accepting
	hub.Shutdown(ctx)                            // system-shutdown to every session
	h.Shutdown(ctx)                              // held requests answered
	<-stopped
}

// A page's server logs a user in on the bridge and hands the page what
// Strophe.js needs to attach: connection.attach(jid, sid, rid).
func ExampleHandler_Prebind() {
	hub := bridge.New(bridge.Config{})
	h := bosh.New(bosh.Config{Hub: hub})
	mux := http.NewServeMux()
	mux.Handle("/http-bind", h)
	mux.HandleFunc("/prebind", func(w http.ResponseWriter, r *http.Request) {
		// Authenticate the page's own user first; then:
		p, err := h.Prebind(r.Context(), bosh.PrebindRequest{
			To:          "example.com",
			Credentials: xmppclient.Credentials{Username: "alice", Password: "secret", Resource: "web"},
		})
		var ce *bridge.CloseError
		switch {
		case errors.As(err, &ce) && ce.Reason == bridge.ReasonNotAuthorized:
			http.Error(w, "wrong password", http.StatusForbidden)
			return
		case err != nil:
			http.Error(w, "cannot log in now", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"jid":%q,"sid":%q,"rid":%d}`, p.JID, p.SID, p.NextRID())
	})
}
