package bridge

import (
	"testing"

	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

func TestAppendStreamError(t *testing.T) {
	tests := []struct {
		cond, text, want string
	}{
		{"conflict", "", "<stream:error xmlns:stream='http://etherx.jabber.org/streams'><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>"},
		{"system-shutdown", "back & <soon>", "<stream:error xmlns:stream='http://etherx.jabber.org/streams'><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>back &amp; &lt;soon&gt;</text></stream:error>"},
	}
	for _, tt := range tests {
		got := AppendStreamError(nil, tt.cond, tt.text)
		if string(got) != tt.want {
			t.Errorf("AppendStreamError(%q, %q) =\n%s\nwant\n%s", tt.cond, tt.text, got, tt.want)
		}
		if _, err := xmlsplit.Parse(got, xmlsplit.ParseOptions{}); err != nil {
			t.Errorf("%s does not stand alone: %v", got, err)
		}
	}
}
