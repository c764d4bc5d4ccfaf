package clientip

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseProxies(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		err     string
		trusts  []string
		refuses []string
	}{
		{"none", nil, "", nil, []string{"127.0.0.1", "::1"}},
		{"ranges and hosts", []string{"10.0.0.0/8", "2001:db8::/32", "192.0.2.7", "::1"}, "",
			[]string{"10.1.2.3", "2001:db8::5", "192.0.2.7", "::1", "::ffff:10.0.0.1"},
			[]string{"11.0.0.1", "192.0.2.8", "2001:db9::1", "127.0.0.1"}},
		{"not an address", []string{"localhost"}, `"localhost" is not an IP address`, nil, nil},
		{"bad range", []string{"10.0.0.0/33"}, "is not an address range", nil, nil},
		{"host bits set", []string{"10.0.0.1/8"}, "did you mean 10.0.0.0/8?", nil, nil},
		{"zone", []string{"fe80::1%eth0"}, "is not an IP address", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseProxies(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseProxies(%q) error = %v, want %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range tt.trusts {
				if !p.Trusts(netip.MustParseAddr(a)) {
					t.Errorf("%s not trusted", a)
				}
			}
			for _, a := range tt.refuses {
				if p.Trusts(netip.MustParseAddr(a)) {
					t.Errorf("%s trusted", a)
				}
			}
		})
	}
}
