package xmppclient

import (
	"testing"

	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

// splitOne returns the first element after a stream header.
func splitOne(t *testing.T, header, element string) (*xmlsplit.Splitter, xmlsplit.Element) {
	t.Helper()
	var sp xmlsplit.Splitter
	buf := []byte(header + element)
	for {
		it, n, err := sp.Split(buf)
		if err != nil || n == 0 {
			t.Fatalf("split %q: n %d, %v", buf, n, err)
		}
		buf = buf[n:]
		if it.Kind == xmlsplit.KindElement {
			return &sp, it.Element
		}
	}
}

func TestFilterFeatures(t *testing.T) {
	const (
		tls   = "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
		sasl  = "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
		other = "<sm xmlns='urn:xmpp:sm:3'/><ver xmlns='urn:xmpp:features:rosterver'/>"
	)
	tests := []struct {
		name, header, in, want string // want "": unchanged
	}{
		{
			name: "nothing to remove",
			in:   "<stream:features>" + sasl + "<mechanism>SCRAM-SHA-1</mechanism></mechanisms>" + other + "</stream:features>",
		},
		{
			name: "starttls",
			in:   "<stream:features>" + tls + sasl + "<mechanism>PLAIN</mechanism></mechanisms></stream:features>",
			want: "<stream:features>" + sasl + "<mechanism>PLAIN</mechanism></mechanisms></stream:features>",
		},
		{
			name: "self-closing starttls alone",
			in:   "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>",
			want: "<stream:features></stream:features>",
		},
		{
			name: "plus mechanisms",
			in: "<stream:features>" + sasl + "<mechanism>SCRAM-SHA-256-PLUS</mechanism><mechanism>SCRAM-SHA-256</mechanism>" +
				"<mechanism> SCRAM-SHA-1-PLUS </mechanism><mechanism>SCRAM-SHA-1</mechanism></mechanisms>" + other + "</stream:features>",
			want: "<stream:features>" + sasl + "<mechanism>SCRAM-SHA-256</mechanism><mechanism>SCRAM-SHA-1</mechanism></mechanisms>" + other + "</stream:features>",
		},
		{
			name: "both, with whitespace",
			in:   "<stream:features>\n " + tls + "\n " + sasl + "\n  <mechanism>SCRAM-SHA-1-PLUS</mechanism>\n  <mechanism>PLAIN</mechanism>\n </mechanisms>\n</stream:features>",
			want: "<stream:features>\n \n " + sasl + "\n  \n  <mechanism>PLAIN</mechanism>\n </mechanisms>\n</stream:features>",
		},
		{
			name: "starttls in another namespace stays",
			in:   "<stream:features><starttls xmlns='urn:example:other'/>" + sasl + "<mechanism>X-PLUS-ONE</mechanism></mechanisms></stream:features>",
		},
		{
			name: "-PLUS in text elsewhere stays",
			in:   "<stream:features><x xmlns='urn:x'>Y-PLUS</x></stream:features>",
		},
		{
			name:   "features with its own prefix",
			header: "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' version='1.0'>",
			in:     "<f:features xmlns:f='http://etherx.jabber.org/streams'>" + tls + "</f:features>",
			want:   "<f:features xmlns:f='http://etherx.jabber.org/streams'></f:features>",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := tt.header
			if header == "" {
				header = fakexmpp.Header("s1")
			}
			sp, el := splitOne(t, header, tt.in)
			if !isStreamElement(&el, "features", sp) {
				t.Fatal("not recognised as features")
			}
			got := filterFeatures(&el)
			if tt.want == "" {
				if got != nil {
					t.Fatalf("changed to %q", got)
				}
				return
			}
			if string(got) != tt.want {
				t.Fatalf("\n got %q\nwant %q", got, tt.want)
			}
			if _, err := xmlsplit.Parse(append(append(got[:el.NSAt:el.NSAt], nsDefaultStream...), got[el.NSAt:]...), xmlsplit.ParseOptions{}); err != nil {
				t.Errorf("filtered element does not stand alone: %v", err)
			}
		})
	}
}

func TestIsFeatures(t *testing.T) {
	tests := []struct {
		name, in string
		want     bool
	}{
		{"stream features", "<stream:features/>", true},
		{"message", "<message/>", false},
		{"features in another namespace", "<features xmlns='urn:x'/>", false},
		{"features in the default namespace", "<features/>", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp, el := splitOne(t, fakexmpp.Header("s1"), tt.in)
			if got := isStreamElement(&el, "features", sp); got != tt.want {
				t.Errorf("isStreamElement(features) = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestRelayFiltersEveryFeatures checks that Dial's stream filters features
// each time they come, and that Login's does not.
func TestRelayFiltersEveryFeatures(t *testing.T) {
	const (
		in   = "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1-PLUS</mechanism><mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>"
		want = "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>"
	)
	s := fakexmpp.Start(t, func(c *fakexmpp.Conn) {
		if c.Open("s1", in) != nil {
			return
		}
		for {
			it, err := c.Read()
			if err != nil || it.Kind != xmlsplit.KindOpen {
				return
			}
			if c.Send(fakexmpp.Header("s2")+in) != nil {
				return
			}
		}
	})
	c := dialT(t, plainCfg(s))
	for i := range 3 {
		if i > 0 {
			if err := c.Restart(); err != nil {
				t.Fatal(err)
			}
			if ev := nextT(t, c); ev.Kind != EventHeader {
				t.Fatalf("round %d: %v, want a header", i, ev.Kind)
			}
		}
		if ev := nextT(t, c); string(ev.Data) != want || ev.NSAt != len("<stream:features") {
			t.Fatalf("round %d: %q at %d\nwant %q", i, ev.Data, ev.NSAt, want)
		}
	}
}
