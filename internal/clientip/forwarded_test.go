package clientip

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

// serve runs one request from peer with the given headers through the
// Handler of proxies and returns what the next handler saw.
func serve(t testing.TB, p *Proxies, peer string, overTLS bool, headers map[string][]string) (remote string, secure bool) {
	t.Helper()
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = peer
	if overTLS {
		r.TLS = &tls.ConnectionState{}
	}
	for k, vs := range headers {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		remote, secure = r.RemoteAddr, r.TLS != nil
	})).ServeHTTP(httptest.NewRecorder(), r)
	return remote, secure
}

func TestHandler(t *testing.T) {
	p, err := ParseProxies([]string{"127.0.0.0/8", "10.0.0.0/8", "2001:db8:1::/48"})
	if err != nil {
		t.Fatal(err)
	}
	type h = map[string][]string
	tests := []struct {
		name    string
		peer    string
		tls     bool
		headers h
		remote  string
		secure  bool
	}{
		{"untrusted peer: headers ignored", "203.0.113.9:4000", false, h{"X-Forwarded-For": {"198.51.100.1"}, "X-Forwarded-Proto": {"https"}}, "203.0.113.9:4000", false},
		{"untrusted peer cannot claim loopback", "203.0.113.9:4000", false, h{"Forwarded": {"for=127.0.0.1;proto=https"}}, "203.0.113.9:4000", false},
		{"trusted peer without headers", "127.0.0.1:5000", false, nil, "127.0.0.1:5000", false},
		{"X-Forwarded-For", "127.0.0.1:5000", false, h{"X-Forwarded-For": {"198.51.100.1"}}, "198.51.100.1:0", false},
		{"X-Forwarded-Proto https", "127.0.0.1:5000", false, h{"X-Forwarded-For": {"198.51.100.1"}, "X-Forwarded-Proto": {"https"}}, "198.51.100.1:0", true},
		{"X-Forwarded-Proto http over a TLS hop", "127.0.0.1:5000", true, h{"X-Forwarded-For": {"198.51.100.1"}, "X-Forwarded-Proto": {"http"}}, "198.51.100.1:0", false},
		{"no proto keeps the hop's TLS", "127.0.0.1:5000", true, h{"X-Forwarded-For": {"198.51.100.1"}}, "198.51.100.1:0", true},
		{"chain: rightmost untrusted", "127.0.0.1:5000", false, h{"X-Forwarded-For": {"192.0.2.1, 198.51.100.1, 10.0.0.2"}}, "198.51.100.1:0", false},
		{"chain in two headers", "127.0.0.1:5000", false, h{"X-Forwarded-For": {"192.0.2.1, 198.51.100.1", "10.0.0.2"}}, "198.51.100.1:0", false},
		{"client forging loopback", "127.0.0.1:5000", false, h{"X-Forwarded-For": {"127.0.0.1, 198.51.100.1"}}, "198.51.100.1:0", false},
		{"chain all trusted: leftmost", "127.0.0.1:5000", false, h{"X-Forwarded-For": {"10.0.0.3, 10.0.0.2"}}, "10.0.0.3:0", false},
		{"protos per hop", "127.0.0.1:5000", false, h{"X-Forwarded-For": {"198.51.100.1, 10.0.0.2"}, "X-Forwarded-Proto": {"https, http"}}, "198.51.100.1:0", true},
		{"IPv6 in X-Forwarded-For", "127.0.0.1:5000", false, h{"X-Forwarded-For": {"2001:db8:2::7"}}, "[2001:db8:2::7]:0", false},
		{"IPv4 with port in X-Forwarded-For", "127.0.0.1:5000", false, h{"X-Forwarded-For": {"198.51.100.1:6000"}}, "198.51.100.1:6000", false},
		{"garbage in X-Forwarded-For", "127.0.0.1:5000", false, h{"X-Forwarded-For": {"198.51.100.1, not-an-ip"}}, "unknown:0", false},
		{"mapped IPv4 peer", "[::ffff:127.0.0.1]:5000", false, h{"X-Forwarded-For": {"198.51.100.1"}}, "198.51.100.1:0", false},
		{"IPv6 peer", "[2001:db8:1::5]:5000", false, h{"X-Forwarded-For": {"198.51.100.1"}}, "198.51.100.1:0", false},

		{"Forwarded", "127.0.0.1:5000", false, h{"Forwarded": {"for=192.0.2.60;proto=https;by=203.0.113.43"}}, "192.0.2.60:0", true},
		{"Forwarded before X-Forwarded-For", "127.0.0.1:5000", false, h{"Forwarded": {"for=192.0.2.60"}, "X-Forwarded-For": {"198.51.100.1"}}, "192.0.2.60:0", false},
		{"Forwarded IPv6 with port", "127.0.0.1:5000", false, h{"Forwarded": {`For="[2001:db8:cafe::17]:4711"`}}, "[2001:db8:cafe::17]:4711", false},
		{"Forwarded chain", "127.0.0.1:5000", false, h{"Forwarded": {"for=192.0.2.43, for=198.51.100.17;proto=https", "for=10.0.0.2;proto=http"}}, "198.51.100.17:0", true},
		{"Forwarded unknown", "127.0.0.1:5000", false, h{"Forwarded": {"for=unknown;proto=https"}}, "unknown:0", true},
		{"Forwarded obfuscated", "127.0.0.1:5000", false, h{"Forwarded": {"for=_hidden, for=10.0.0.2"}}, "_hidden:0", false},
		{"Forwarded without for", "127.0.0.1:5000", false, h{"Forwarded": {"proto=https;by=10.0.0.2"}}, "unknown:0", true},
		{"Forwarded unterminated quote", "127.0.0.1:5000", false, h{"Forwarded": {`for="[2001:db8::1]`}}, "unknown:0", false},
		{"Forwarded not pairs", "127.0.0.1:5000", false, h{"Forwarded": {"192.0.2.60"}}, "unknown:0", false},
		{"Forwarded bad node", "127.0.0.1:5000", false, h{"Forwarded": {"for=example.com"}}, "unknown:0", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			remote, secure := serve(t, p, tt.peer, tt.tls, tt.headers)
			if remote != tt.remote || secure != tt.secure {
				t.Errorf("RemoteAddr %q, TLS %v; want %q, %v", remote, secure, tt.remote, tt.secure)
			}
		})
	}
}

// Nobody trusted: the Handler is next itself.
func TestHandlerTrustingNobody(t *testing.T) {
	p, _ := ParseProxies(nil)
	if remote, _ := serve(t, p, "127.0.0.1:5000", false, map[string][]string{"X-Forwarded-For": {"198.51.100.1"}}); remote != "127.0.0.1:5000" {
		t.Errorf("RemoteAddr = %q", remote)
	}
}

// Forwarding headers from a trusted proxy still carry what its clients
// wrote: whatever they hold, the result is a host:port.
func FuzzForwarded(f *testing.F) {
	for _, s := range []string{"for=192.0.2.60;proto=https", `for="[2001:db8::1]:80", for=_x`, "for=", `for="\`, "a=b;c", ";,;", "for=1.2.3.4:99999"} {
		f.Add(s, "198.51.100.1, 10.0.0.1")
	}
	p, _ := ParseProxies([]string{"127.0.0.0/8", "10.0.0.0/8"})
	f.Fuzz(func(t *testing.T, fwd, xff string) {
		for _, headers := range []map[string][]string{{"Forwarded": {fwd}}, {"X-Forwarded-For": {xff}}} {
			remote, _ := serve(t, p, "127.0.0.1:5000", false, headers)
			if _, _, err := net.SplitHostPort(remote); err != nil {
				t.Fatalf("headers %q give RemoteAddr %q: %v", headers, remote, err)
			}
		}
	})
}
