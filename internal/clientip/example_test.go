package clientip_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/xmppbridge/xmppbridge/internal/clientip"
)

func ExampleProxies_Handler() {
	proxies, err := clientip.ParseProxies([]string{"127.0.0.1", "10.0.0.0/8"})
	if err != nil {
		panic(err)
	}
	h := proxies.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println(r.RemoteAddr, r.TLS != nil)
	}))
	// Serve with:
	//	srv := &http.Server{Handler: h, ConnContext: clientip.ConnContext}
	//	srv.Serve(proxies.Listener(ln)) // with the PROXY protocol

	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "127.0.0.1:40000" // nginx on the same machine
	r.Header.Set("X-Forwarded-For", "127.0.0.1, 198.51.100.7")
	r.Header.Set("X-Forwarded-Proto", "https")
	h.ServeHTTP(httptest.NewRecorder(), r)
	// Output:
	// 198.51.100.7:0 true
}
