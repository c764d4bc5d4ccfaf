package origin

import (
	"net/http/httptest"
	"testing"
)

func TestSame(t *testing.T) {
	for _, tt := range []struct {
		host, origin string
		want         bool
	}{
		{"chat.example.com", "", true},
		{"chat.example.com", "https://chat.example.com", true},
		{"chat.example.com:5280", "http://CHAT.example.com:5280", true},
		{"chat.example.com", "https://evil.example", false},
		{"chat.example.com:5280", "http://chat.example.com", false},
		{"chat.example.com", "%zz", false},
	} {
		r := httptest.NewRequest("GET", "http://"+tt.host+"/", nil)
		if tt.origin != "" {
			r.Header.Set("Origin", tt.origin)
		}
		if got := Same(r); got != tt.want {
			t.Errorf("Same(Host %s, Origin %q) = %v, want %v", tt.host, tt.origin, got, tt.want)
		}
	}
}
