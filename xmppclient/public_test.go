package xmppclient

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestPublic(t *testing.T) {
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"93.184.215.14", true},
		{"2606:2800:21f:cb07:6820:80da:af6b:8b2c", true},
		{"127.0.0.1", false},
		{"127.3.4.5", false},
		{"::1", false},
		{"::ffff:127.0.0.1", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"192.168.1.1", false},
		{"fd00::1", false},
		{"169.254.169.254", false}, // cloud metadata
		{"fe80::1", false},
		{"0.0.0.0", false},
		{"::", false},
		{"100.64.0.1", false},
		{"224.0.0.1", false},
		{"255.255.255.255", false},
		{"64:ff9b::7f00:1", false}, // NAT64 of 127.0.0.1
		{"2002:7f00:1::", false},   // 6to4 of 127.0.0.1
	} {
		if got := Public(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("Public(%s) = %v, want %v", tc.ip, got, tc.want)
		}
	}
}

func TestLiteralAddr(t *testing.T) {
	for _, tc := range []struct {
		domain string
		sec    Security
		want   string
	}{
		{"[::1]", StartTLS, "[::1]:5222"},
		{"[2001:DB8::7]", DirectTLS, "[2001:db8::7]:5223"},
		{"192.0.2.7", StartTLS, "192.0.2.7:5222"},
		{"example.com", StartTLS, ""},
		{"::1", StartTLS, ""},         // IPv6 only in brackets
		{"[192.0.2.7]", StartTLS, ""}, // IPv4 never in brackets
		{"[fe80::1%eth0]", StartTLS, ""},
	} {
		if got := literalAddr(tc.domain, tc.sec); got != tc.want {
			t.Errorf("literalAddr(%q) = %q, want %q", tc.domain, got, tc.want)
		}
	}
}

// An IPv6 literal domain is dialled as an address, not taken for a
// host:port ("missing port in address").
func TestDialIPv6Literal(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	ln.Close()
	_, err = Dial(context.Background(), Config{Domain: "[::1]"})
	if err == nil || strings.Contains(err.Error(), "missing port") || !strings.Contains(err.Error(), "[::1]:5222") {
		t.Fatalf("Dial [::1]: %v, want a refused connection to [::1]:5222", err)
	}
}

func TestPublicOnlyRefuses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"address", Config{Domain: "example.com", Addr: ln.Addr().String(), PublicOnly: true}},
		{"IP literal domain", Config{Domain: "127.0.0.1", PublicOnly: true}},
		{"IPv6 literal domain", Config{Domain: "[::1]", PublicOnly: true}},
		{"name that resolves to loopback", Config{Domain: "localhost", PublicOnly: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Dial(context.Background(), tc.cfg)
			var xe *Error
			if !errors.As(err, &xe) || xe.Cond != condHostUnknown || !errors.Is(err, ErrNotPublic) {
				t.Fatalf("Dial: %v, want host-unknown wrapping ErrNotPublic", err)
			}
		})
	}
}
