package xmppclient

import (
	"testing"

	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

func TestOpenHeader(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"domain only", Config{Domain: "example.com"},
			"<?xml version='1.0'?><stream:stream to='example.com' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"},
		{"from and lang escaped", Config{Domain: "example.com", From: "o'neil@example.com", Lang: "en"},
			"<?xml version='1.0'?><stream:stream to='example.com' from='o&apos;neil@example.com' xml:lang='en' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(openHeader(&tt.cfg)); got != tt.want {
				t.Errorf("\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestParseHeader(t *testing.T) {
	var sp xmlsplit.Splitter
	it, _, err := sp.Split([]byte("<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' id='a&amp;b' from='example.com' to='u@example.com' xml:lang='de' version='1.0'>"))
	if err != nil || it.Kind != xmlsplit.KindOpen {
		t.Fatalf("split: %v %v", it.Kind, err)
	}
	want := Header{ID: "a&b", From: "example.com", To: "u@example.com", Lang: "de", Version: "1.0"}
	if h := parseHeader(&it.Element); h != want {
		t.Errorf("parseHeader = %+v, want %+v", h, want)
	}
}

// TestNSForAllocs checks that the namespace declarations of the elements
// nearly every stanza is among come from the cache.
func TestNSForAllocs(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"declares its own", "<iq xmlns='jabber:client' type='get' id='1'/>", ""},
		{"default only", "<message><body>x</body></message>", nsDefault},
		{"default and stream", "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>", nsDefaultStream},
		{"stream only", "<stream:features xmlns='jabber:client'/>", " xmlns:stream='http://etherx.jabber.org/streams'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp, el := splitOne(t, fakexmpp.Header("s1"), tt.in)
			var c nsCache
			c.reset(sp)
			if got := c.nsFor(&el, sp); got != tt.want {
				t.Fatalf("nsFor = %q, want %q", got, tt.want)
			}
			if n := testing.AllocsPerRun(100, func() { c.nsFor(&el, sp) }); n != 0 {
				t.Errorf("%v allocations per element", n)
			}
		})
	}
}
