package discovery_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"

	"github.com/xmppbridge/xmppbridge/internal/discovery"
)

func ExampleHandler() {
	public, _ := url.Parse("https://chat.example.com")
	h := discovery.Handler(discovery.Config{PublicURL: public, WebSocketPath: "/xmpp-websocket", BOSHPath: "/http-bind"})
	mux := http.NewServeMux()
	mux.Handle(discovery.HostMetaPath, h)
	mux.Handle(discovery.HostMetaJSONPath, h)

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest("GET", discovery.HostMetaJSONPath, nil))
	fmt.Print(rec.Body)
	// Output:
	// {"links":[{"rel":"urn:xmpp:alt-connections:websocket","href":"wss://chat.example.com/xmpp-websocket"},{"rel":"urn:xmpp:alt-connections:xbosh","href":"https://chat.example.com/http-bind"}]}
}
