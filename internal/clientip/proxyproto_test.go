package clientip

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/pires/go-proxyproto"
	"github.com/pires/go-proxyproto/tlvparse"
)

// serveProxied serves, on loopback behind p's Listener, a handler that
// answers with the RemoteAddr and TLS it sees, and returns its address.
func serveProxied(t *testing.T, p *Proxies) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "%s %v", r.RemoteAddr, r.TLS != nil)
		})),
		ConnContext: ConnContext,
	}
	go srv.Serve(p.Listener(ln))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// ask sends header (may be nil), then a GET, on one new connection, and
// returns the status and body.
func ask(t *testing.T, addr string, header []byte) (int, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(append(header, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"...)); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func proxyHeader(t *testing.T, version byte, src string, ssl bool) []byte {
	t.Helper()
	srcAddr, err := net.ResolveTCPAddr("tcp", src)
	if err != nil {
		t.Fatal(err)
	}
	h := proxyproto.HeaderProxyFromAddrs(version, srcAddr, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5280})
	if ssl {
		// As HAProxy sends it: the flag and the TLS version.
		tlv, err := tlvparse.PP2SSL{
			Client: tlvparse.PP2_BITFIELD_CLIENT_SSL,
			TLV:    []proxyproto.TLV{{Type: proxyproto.PP2_SUBTYPE_SSL_VERSION, Value: []byte("TLSv1.3")}},
		}.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := h.SetTLVs([]proxyproto.TLV{tlv}); err != nil {
			t.Fatal(err)
		}
	}
	b, err := h.Format()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProxyProtocol(t *testing.T) {
	trusted, _ := ParseProxies([]string{"127.0.0.0/8"})
	addr := serveProxied(t, trusted)
	tests := []struct {
		name   string
		header []byte
		code   int
		body   string
	}{
		{"v1", proxyHeader(t, 1, "198.51.100.7:56324", false), 200, "198.51.100.7:56324 false"},
		{"v2", proxyHeader(t, 2, "198.51.100.8:40000", false), 200, "198.51.100.8:40000 false"},
		{"v2 IPv6", proxyHeader(t, 2, "[2001:db8::9]:40000", false), 200, "[2001:db8::9]:40000 false"},
		{"v2, client over TLS", proxyHeader(t, 2, "198.51.100.8:40000", true), 200, "198.51.100.8:40000 true"},
		{"no header from a trusted peer", nil, 200, "127.0.0.1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := ask(t, addr, tt.header)
			if code != tt.code || !strings.HasPrefix(body, tt.body) {
				t.Errorf("%d %q, want %d %q", code, body, tt.code, tt.body)
			}
		})
	}

	// From a peer not trusted, the header is not read: it is only a
	// malformed request, and a plain request is served as it comes.
	untrusting, _ := ParseProxies([]string{"10.0.0.0/8"})
	addr = serveProxied(t, untrusting)
	if code, body := ask(t, addr, proxyHeader(t, 1, "198.51.100.7:56324", false)); code != http.StatusBadRequest {
		t.Errorf("PROXY v1 from an untrusted peer: %d %q, want 400", code, body)
	}
	if code, body := ask(t, addr, nil); code != 200 || !strings.HasPrefix(body, "127.0.0.1:") {
		t.Errorf("plain request from an untrusted peer: %d %q", code, body)
	}
}
