package bridge

import "testing"

func TestParseStreamError(t *testing.T) {
	tests := []struct {
		data       string
		cond, text string
		ok         bool
	}{
		{"<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>", "conflict", "", true},
		{"<stream:error><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>back &amp; soon</text></stream:error>", "system-shutdown", "back & soon", true},
		{"<stream:error/>", "undefined-condition", "", true},
		{"<stream:errors/>", "", "", false},
		{"<message/>", "", "", false},
		{"<stream:error><x", "", "", false},
	}
	for _, tt := range tests {
		cond, text, ok := ParseStreamError([]byte(tt.data))
		if cond != tt.cond || text != tt.text || ok != tt.ok {
			t.Errorf("ParseStreamError(%q) = %q, %q, %v; want %q, %q, %v", tt.data, cond, text, ok, tt.cond, tt.text, tt.ok)
		}
	}
}
