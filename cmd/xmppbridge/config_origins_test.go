package main

import (
	"testing"
)

func TestOriginAllowed(t *testing.T) {
	listed := []string{"https://chat.example.com", "http://localhost:8080", "HTTP://Dev.Example.COM:80", "https://[::1]:8443"}
	tests := []struct {
		name    string
		origins []string
		origin  string
		host    string
		want    bool
	}{
		{"empty list, no Origin", nil, "", "bridge.example.com", true},
		// A name may be the attacker's, rebound to the bridge's address.
		{"empty list, same origin by a name", nil, "https://bridge.example.com", "bridge.example.com", false},
		{"empty list, same origin with port", nil, "http://localhost:5280", "localhost:5280", true},
		{"empty list, same origin by IPv4", nil, "http://127.0.0.1:5280", "127.0.0.1:5280", true},
		{"empty list, same origin in other case", nil, "http://LocalHost:5280", "LOCALHOST:5280", true},
		{"empty list, default port in Host", nil, "http://192.0.2.7", "192.0.2.7:80", true},
		{"empty list, other port", nil, "http://localhost:8080", "localhost:5280", false},
		{"empty list, other host", nil, "https://evil.example.net", "bridge.example.com", false},
		{"empty list, wrong default port", nil, "https://192.0.2.7", "192.0.2.7:80", false},
		{"empty list, IPv6 same origin", nil, "http://[::1]:5280", "[::1]:5280", true},
		{"empty list, null", nil, "null", "bridge.example.com", false},
		{"empty list, empty Host", nil, "https://bridge.example.com", "", false},

		{"listed", listed, "https://chat.example.com", "bridge.example.com", true},
		{"listed, other case", listed, "HTTPS://CHAT.example.com", "bridge.example.com", true},
		{"listed, explicit default port", listed, "https://chat.example.com:443", "bridge.example.com", true},
		{"listed with default port, sent without", listed, "http://dev.example.com", "bridge.example.com", true},
		{"listed with port", listed, "http://localhost:8080", "bridge.example.com", true},
		{"listed IPv6", listed, "https://[::1]:8443", "bridge.example.com", true},
		{"listed, other scheme", listed, "http://chat.example.com", "bridge.example.com", false},
		{"listed, other port", listed, "http://localhost:8081", "bridge.example.com", false},
		{"listed, subdomain", listed, "https://a.chat.example.com", "bridge.example.com", false},
		{"listed, suffix trick", listed, "https://chat.example.com.evil.net", "bridge.example.com", false},
		{"listed, with path", listed, "https://chat.example.com/", "bridge.example.com", false},
		{"listed, no Origin", listed, "", "bridge.example.com", true},
		{"listed, same origin by a name", listed, "https://bridge.example.com", "bridge.example.com", false},
		{"listed, same origin by a listed name", listed, "https://chat.example.com", "chat.example.com", true},
		{"listed, null", listed, "null", "bridge.example.com", false},

		{"any", []string{"*"}, "https://evil.example.net", "bridge.example.com", true},
		{"any, null", []string{"*"}, "null", "bridge.example.com", true},
		{"any among others", []string{"https://chat.example.com", "*"}, "https://evil.example.net", "bridge.example.com", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{Origins: tt.origins}
			if got := c.OriginAllowed(tt.origin, tt.host); got != tt.want {
				t.Errorf("OriginAllowed(%q, %q) with %q = %v, want %v", tt.origin, tt.host, tt.origins, got, tt.want)
			}
		})
	}
	// public_url names the bridge: its host vouches for same-origin
	// requests, and no other name does.
	for _, tt := range []struct {
		name, origin, host string
		want               bool
	}{
		{"public_url host", "https://chat.example.com", "chat.example.com", true},
		{"public_url host, other case and port", "https://chat.example.com:8443", "CHAT.example.com:8443", true},
		{"another name", "https://rebound.example.net", "rebound.example.net", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{PublicURL: "https://chat.example.com/xmpp"}
			if got := c.OriginAllowed(tt.origin, tt.host); got != tt.want {
				t.Errorf("OriginAllowed(%q, %q) = %v, want %v", tt.origin, tt.host, got, tt.want)
			}
		})
	}
}

// The Origin header is untrusted input.
func FuzzOriginAllowed(f *testing.F) {
	for _, s := range []string{"https://chat.example.com", "HTTP://[::1]:80", "null", "http://a:b@c/", "https://x:443", "a:b", "//x", "http://%zz"} {
		f.Add(s, "chat.example.com")
	}
	f.Fuzz(func(t *testing.T, origin, host string) {
		c := Config{Origins: []string{"https://chat.example.com"}}
		c.OriginAllowed(origin, host)
		canon, err := canonicalOrigin(origin)
		if err != nil {
			return
		}
		if again, err := canonicalOrigin(canon); err != nil || again != canon {
			t.Fatalf("canonicalOrigin(%q) = %q, but canonicalOrigin(%q) = %q, %v", origin, canon, canon, again, err)
		}
		listed := Config{Origins: []string{origin}}
		if !listed.OriginAllowed(canon, "") {
			t.Fatalf("%q listed, but its canonical form %q is refused", origin, canon)
		}
	})
}
