package bosh

import (
	"bytes"
	"strings"
	"testing"

	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

var testLimits = parseLimits{maxBody: 64 << 10, maxStanza: 16 << 10}

func TestParseBody(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		cond     string   // "" means accepted
		payloads []string // when accepted
		check    func(t *testing.T, b *body)
	}{
		{"Strophe's creation request",
			`<body content="text/xml; charset=utf-8" hold="1" rid="1863783913" to="localhost" ver="1.6" wait="60" xml:lang="en" xmlns="http://jabber.org/protocol/httpbind" xmlns:xmpp="urn:xmpp:xbosh" xmpp:version="1.0"/>`,
			"", nil, func(t *testing.T, b *body) {
				if b.rid != 1863783913 || b.to != "localhost" || b.ver != "1.6" || b.wait != 60 || b.hold != 1 || b.lang != "en" || b.xmppVersion != "1.0" || b.content != "text/xml; charset=utf-8" {
					t.Errorf("%+v", b)
				}
			}},
		{"Converse's SASL request",
			`<body rid="3267957395" sid="b1ab77f6" xmlns="http://jabber.org/protocol/httpbind"><auth mechanism="SCRAM-SHA-1" xmlns="urn:ietf:params:xml:ns:xmpp-sasl">biws</auth></body>`,
			"", []string{`<auth mechanism="SCRAM-SHA-1" xmlns="urn:ietf:params:xml:ns:xmpp-sasl">biws</auth>`}, nil},
		{"children without xmlns are jabber:client",
			`<body rid='2' sid='s' xmlns='http://jabber.org/protocol/httpbind'>
  <message to='a@b'><body>hi</body></message>
  <presence/>
</body>`,
			"", []string{`<message xmlns='jabber:client' to='a@b'><body>hi</body></message>`, `<presence xmlns='jabber:client'/>`}, nil},
		{"borrowed prefixes are declared",
			`<body rid='2' sid='s' xmlns='http://jabber.org/protocol/httpbind' xmlns:x="urn:it's" xmlns:y='urn:y'><iq xmlns='jabber:client' x:a='1'><y:q/></iq></body>`,
			"", []string{`<iq xmlns:x="urn:it's" xmlns:y='urn:y' xmlns='jabber:client' x:a='1'><y:q/></iq>`}, nil},
		{"prefixed body",
			`<b:body xmlns:b='http://jabber.org/protocol/httpbind' rid='7'><message/></b:body>`,
			"", []string{`<message xmlns='jabber:client'/>`}, nil},
		{"restart", `<body rid='3' sid='s' xmpp:restart='true' xmlns:xmpp='urn:xmpp:xbosh' xmlns='http://jabber.org/protocol/httpbind'/>`,
			"", nil, func(t *testing.T, b *body) {
				if !b.restart {
					t.Error("restart not seen")
				}
			}},
		{"restart in another prefix", `<body rid='3' sid='s' x:restart='1' xmlns:x='urn:xmpp:xbosh' xmlns='http://jabber.org/protocol/httpbind'/>`,
			"", nil, func(t *testing.T, b *body) {
				if !b.restart {
					t.Error("restart not seen")
				}
			}},
		{"terminate, pause, ack, key", `<body rid='9' sid='s' type='terminate' pause='30' ack='8' key='k' newkey='n' xmlns='http://jabber.org/protocol/httpbind'/>`,
			"", nil, func(t *testing.T, b *body) {
				if b.typ != "terminate" || b.pause != 30 || !b.hasAck || b.ack != 8 || b.key != "k" || b.newkey != "n" {
					t.Errorf("%+v", b)
				}
			}},
		{"escaped attribute", `<body rid='1' to='a&amp;b' xmlns='http://jabber.org/protocol/httpbind'/>`, "", nil, func(t *testing.T, b *body) {
			if b.to != "a&b" {
				t.Errorf("to = %q", b.to)
			}
		}},
		{"no rid", `<body xmlns='http://jabber.org/protocol/httpbind'/>`, "bad-request", nil, nil},
		{"rid zero", `<body rid='0' xmlns='http://jabber.org/protocol/httpbind'/>`, "bad-request", nil, nil},
		{"rid too large", `<body rid='9007199254740992' xmlns='http://jabber.org/protocol/httpbind'/>`, "bad-request", nil, nil},
		{"largest rid", `<body rid='9007199254740991' xmlns='http://jabber.org/protocol/httpbind'/>`, "", nil, nil},
		{"rid not a number", `<body rid='1e3' xmlns='http://jabber.org/protocol/httpbind'/>`, "bad-request", nil, nil},
		{"negative hold", `<body rid='1' hold='-1' xmlns='http://jabber.org/protocol/httpbind'/>`, "bad-request", nil, nil},
		{"zero pause", `<body rid='1' pause='0' xmlns='http://jabber.org/protocol/httpbind'/>`, "bad-request", nil, nil},
		{"other type", `<body rid='1' type='error' xmlns='http://jabber.org/protocol/httpbind'/>`, "bad-request", nil, nil},
		{"wrong namespace", `<body rid='1' xmlns='jabber:client'/>`, "bad-request", nil, nil},
		{"no namespace", `<body rid='1'/>`, "bad-request", nil, nil},
		{"wrong element", `<bodies rid='1' xmlns='http://jabber.org/protocol/httpbind'/>`, "bad-request", nil, nil},
		{"character data", `<body rid='1' xmlns='http://jabber.org/protocol/httpbind'>hi<presence/></body>`, "bad-request", nil, nil},
		{"character data after the last child", `<body rid='1' xmlns='http://jabber.org/protocol/httpbind'><presence/>.</body>`, "bad-request", nil, nil},
		{"CDATA", `<body rid='1' xmlns='http://jabber.org/protocol/httpbind'><![CDATA[x]]></body>`, "bad-request", nil, nil},
		{"comment", `<body rid='1' xmlns='http://jabber.org/protocol/httpbind'><!-- x --></body>`, "bad-request", nil, nil},
		{"DTD", `<!DOCTYPE body><body rid='1' xmlns='http://jabber.org/protocol/httpbind'/>`, "bad-request", nil, nil},
		{"XML declaration", `<?xml version='1.0'?><body rid='1' xmlns='http://jabber.org/protocol/httpbind'><presence/></body>`, "", []string{`<presence xmlns='jabber:client'/>`}, nil},
		{"XML declaration in UTF-8", `<?xml version="1.0" encoding="utf-8" standalone='yes' ?>` + "\n" + `<body rid='1' xmlns='http://jabber.org/protocol/httpbind'/>`, "", nil, nil},
		{"XML declaration in Latin-1", `<?xml version='1.0' encoding='ISO-8859-1'?><body rid='1' xmlns='http://jabber.org/protocol/httpbind'/>`, "bad-request", nil, nil},
		{"XML declaration of XML 2.0", `<?xml version='2.0'?><body rid='1' xmlns='http://jabber.org/protocol/httpbind'/>`, "bad-request", nil, nil},
		{"XML declaration without version", `<?xml encoding='UTF-8'?><body rid='1' xmlns='http://jabber.org/protocol/httpbind'/>`, "bad-request", nil, nil},
		{"XML declaration out of order", `<?xml encoding='UTF-8' version='1.0'?><body rid='1' xmlns='http://jabber.org/protocol/httpbind'/>`, "bad-request", nil, nil},
		{"XML declaration unterminated", `<?xml version='1.0'<body rid='1' xmlns='http://jabber.org/protocol/httpbind'/>`, "bad-request", nil, nil},
		{"XML declaration after whitespace", ` <?xml version='1.0'?><body rid='1' xmlns='http://jabber.org/protocol/httpbind'/>`, "bad-request", nil, nil},
		{"two XML declarations", `<?xml version='1.0'?><?xml version='1.0'?><body rid='1' xmlns='http://jabber.org/protocol/httpbind'/>`, "bad-request", nil, nil},
		{"processing instruction", `<?xml-stylesheet href='x'?><body rid='1' xmlns='http://jabber.org/protocol/httpbind'/>`, "bad-request", nil, nil},
		{"partial element", `<body rid='1' xmlns='http://jabber.org/protocol/httpbind'><presence>`, "bad-request", nil, nil},
		{"undeclared prefix", `<body rid='1' xmlns='http://jabber.org/protocol/httpbind'><x:presence/></body>`, "bad-request", nil, nil},
		{"a stream header", `<body rid='1' xmlns='http://jabber.org/protocol/httpbind' xmlns:stream='http://etherx.jabber.org/streams'><stream:stream/></body>`, "bad-request", nil, nil},
		{"stanza too large", `<body rid='1' xmlns='http://jabber.org/protocol/httpbind'><message>` + strings.Repeat("x", 16<<10) + `</message></body>`, "policy-violation", nil, nil},
		{"body too large", `<body rid='1' xmlns='http://jabber.org/protocol/httpbind'>` + strings.Repeat("<presence/>", 6000) + `</body>`, "policy-violation", nil, nil},
		{"two bodies", `<body rid='1' xmlns='http://jabber.org/protocol/httpbind'/><body/>`, "bad-request", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := parseBody([]byte(tt.in), testLimits)
			if tt.cond != "" {
				if err == nil || err.cond() != tt.cond {
					t.Fatalf("parseBody = %v, want %s", err, tt.cond)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseBody: %v", err)
			}
			var got []string
			for _, p := range b.payloads {
				got = append(got, string(p))
			}
			if strings.Join(got, "\n") != strings.Join(tt.payloads, "\n") {
				t.Errorf("payloads\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.payloads, "\n"))
			}
			if tt.check != nil {
				tt.check(t, b)
			}
		})
	}
}

func TestPeek(t *testing.T) {
	tests := []struct {
		in     string
		sid    string
		legacy bool
	}{
		{`<body rid='1' sid='abc' xmlns='x'><message><</body>`, "abc", false},
		{`<body rid='1' sid="a'b" xmlns='x'/>`, "a'b", false},
		{`<body rid='1' to='localhost' xmlns='x'><`, "", true},
		{`<body rid='1' to='localhost' ver='1.6' xmlns='x'><`, "", false},
		{`<body rid='1' note='a>b' sid='s'>`, "s", false},
		{`<body rid='1' sid='s'`, "", false},
		{`<?xml version='1.0'?><body rid='1' sid='s' xmlns='x'><`, "s", false},
		{`garbage`, "", false},
		{``, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			sid, legacy := peek([]byte(tt.in))
			if sid != tt.sid || legacy != tt.legacy {
				t.Errorf("peek = %q, %v; want %q, %v", sid, legacy, tt.sid, tt.legacy)
			}
		})
	}
}

// FuzzParseBody: no panic, and every payload of an accepted body stands
// alone as one well-formed element, within the stanza limit plus the
// declarations it took along.
func FuzzParseBody(f *testing.F) {
	for _, s := range []string{
		`<body rid='1' to='localhost' ver='1.6' wait='60' hold='1' xmlns='http://jabber.org/protocol/httpbind'/>`,
		`<body rid='2' sid='s' xmlns='http://jabber.org/protocol/httpbind' xmlns:x='urn:x'><message to='a@b'><x:y x:z='1'/></message><iq xmlns='jabber:client'/></body>`,
		`<b:body xmlns:b='http://jabber.org/protocol/httpbind' xmlns='urn:d' rid='3'><m/></b:body>`,
		`<body rid='4' xmlns='http://jabber.org/protocol/httpbind' xmlns:s='http://etherx.jabber.org/streams'><s:stream/></body>`,
		`<body rid='5' sid='s' xmpp:restart='true' xmlns:xmpp='urn:xmpp:xbosh' xmlns='http://jabber.org/protocol/httpbind'> <a/> </body>`,
		`<body rid='6' xmlns='http://jabber.org/protocol/httpbind' xmlns:q="a'b"><q:x/></body>`,
		`<?xml version='1.0' encoding='UTF-8'?><body rid='7' xmlns='http://jabber.org/protocol/httpbind'/>`,
	} {
		f.Add([]byte(s))
	}
	lim := parseLimits{maxBody: 4096, maxStanza: 1024}
	f.Fuzz(func(t *testing.T, in []byte) {
		b, err := parseBody(in, lim)
		peek(in)
		if err != nil {
			if b != nil {
				t.Fatal("a body and an error")
			}
			return
		}
		for _, p := range b.payloads {
			el, err := xmlsplit.Parse(p, xmlsplit.ParseOptions{Limits: xmlsplit.Limits{MaxBytes: 2 * len(p)}})
			if err != nil {
				t.Fatalf("payload %q does not stand alone: %v\nbody %q", p, err, in)
			}
			if !el.DeclaresDefault || len(el.Borrowed) != 0 {
				t.Fatalf("payload %q: default namespace declared %v, borrows %q", p, el.DeclaresDefault, el.Borrowed)
			}
			if !bytes.Equal(el.Raw, p) {
				t.Fatalf("payload %q has surrounding bytes", p)
			}
		}
	})
}
