package jsonxlate

import (
	"errors"
	"testing"
)

// Namespaces the cases write out.
const (
	csNS  = ` xmlns='http://jabber.org/protocol/chatstates'`
	errNS = ` xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'`
)

// toJSONTest is an element, read as a c2s stream's child, and the JSON
// AppendJSON makes of it. Each test of a feature has a case for each rule,
// and for each rule that sends a child to the generic form instead; every
// case must also round-trip.
type toJSONTest struct{ name, xml, want string }

func testToJSON(t *testing.T, tests []toJSONTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendJSON(nil, []byte(tt.xml), " xmlns='jabber:client'")
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("\n got: %s\nwant: %s", got, tt.want)
			}
			checkRoundTrip(t, []byte(tt.xml), " xmlns='jabber:client'", got)
		})
	}
}

func TestAppendJSONErrors(t *testing.T) {
	deep := ""
	for i := 0; i < 70; i++ {
		deep += "<a>"
	}
	for i := 0; i < 70; i++ {
		deep += "</a>"
	}
	tests := []struct {
		name, xml, ns, code string
	}{
		{"not XML", `<message`, "", CodeNotWellFormed},
		{"two elements", `<a/><b/>`, "", CodeNotWellFormed},
		{"comment", `<a><!-- x --></a>`, "", CodeNotWellFormed},
		{"undeclared prefix", `<stream:features/>`, " xmlns='jabber:client'", CodeNotWellFormed},
		{"bad ns", `<a/>`, " xmlns='x", CodeNotWellFormed},
		{"ns not a declaration", `<a/>`, " foo='x'", CodeNotWellFormed},
		{"too deep", deep, "", CodeTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("keep")
			out, err := AppendJSON(dst, []byte(tt.xml), tt.ns)
			var e *Error
			if !errors.As(err, &e) || e.Code != tt.code {
				t.Fatalf("err = %v, want code %s", err, tt.code)
			}
			if string(out) != "keep" {
				t.Fatalf("dst changed: %q", out)
			}
		})
	}
}

func TestBorrowedNamespaces(t *testing.T) {
	tests := []struct {
		name, xml, ns, want string
	}{
		{"stream prefix", `<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>`, streamNS,
			`{"kind":"element","element":{"name":"features","xmlns":"http://etherx.jabber.org/streams","children":[{"name":"bind","xmlns":"urn:ietf:params:xml:ns:xmpp-bind"}]}}`},
		{"own declaration wins", `<message xmlns='jabber:server'/>`, streamNS, `{"kind":"element","element":{"name":"message","xmlns":"jabber:server"}}`},
		{"escaped namespace name", `<message/>`, ` xmlns="jabber&#58;client"`, `{"kind":"message"}`},
		{"xml prefix declared", `<message xml:lang='en'/>`, ` xmlns='jabber:client' xmlns:xml='http://www.w3.org/XML/1998/namespace'`, `{"kind":"message","lang":"en"}`},
		{"no default namespace", `<message/>`, ``, `{"kind":"element","element":{"name":"message","xmlns":""}}`},
		{"server dialback prefix", `<db:result xmlns:db='jabber:server:dialback' from='a' to='b'/>`, ` xmlns='jabber:server'`,
			`{"kind":"element","element":{"name":"result","xmlns":"jabber:server:dialback","attrs":{"from":"a","to":"b"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendJSON(nil, []byte(tt.xml), tt.ns)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("\n got: %s\nwant: %s", got, tt.want)
			}
			checkRoundTrip(t, []byte(tt.xml), tt.ns, got)
		})
	}
}
