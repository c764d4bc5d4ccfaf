package cluster

import (
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The cost of a forwarded request against a direct one, on loopback: a
// BOSH-sized POST to a transport that answers at once. Forwarding adds a
// read of the body, a sid lookup, and a second HTTP round trip. Beside the
// time, cpu-µs/op is the CPU time (user and system) the process spent per
// request — client, forwarding node and owner together, as all run here —
// so that forwarded less direct is what forwarding costs in CPU, however
// loaded the machine is.
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
			cpu0 := cpuTime(b)
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
			b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// cpuTime is the CPU time the process has spent so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
