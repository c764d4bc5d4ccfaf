package cluster

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// The cost of a forwarded request against a direct one, on loopback: a
// BOSH-sized POST to a transport that answers at once. Forwarding adds a
// read of the body, a sid lookup, and a second HTTP round trip.
func BenchmarkRequest(b *testing.B) {
	nodes := testCluster(b, "a", "b")
	const body = `sid=b.1`
	for _, tc := range []struct{ name, url string }{
		{"direct", nodes["b"].srv.URL},
		{"forwarded", nodes["a"].srv.URL},
	} {
		b.Run(tc.name, func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					res, err := client.Post(tc.url, "text/xml", strings.NewReader(body))
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != 200 {
						b.Fatalf("status %d", res.StatusCode)
					}
				}
			})
		})
	}
}
