package health_test

import (
	"log"
	"net/http"

	"github.com/xmppbridge/xmppbridge/internal/health"
)

func ExampleChecker() {
	checker := health.New(health.Config{
		Targets: []health.Target{{Name: "example.com", Addr: "127.0.0.1:5222"}},
		OnChange: func(t health.Target, err error) {
			log.Printf("%s at %s: %v", t.Name, t.Addr, err)
		},
	})
	mux := http.NewServeMux()
	mux.Handle("/healthz", checker.Live())
	mux.Handle("/readyz", checker.Ready())
	// Once the listener accepts connections:
	checker.Serving()
	// At SIGTERM, before anything else:
	checker.Drain()
}
