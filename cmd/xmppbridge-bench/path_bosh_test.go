package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestBOSHChildren(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		want     []string
		sid      string
		requests int
		wantErr  bool
	}{
		{"empty", `<body xmlns="http://jabber.org/protocol/httpbind"/>`, nil, "", 2, false},
		{"empty, not self-closing", `<body xmlns='http://jabber.org/protocol/httpbind'></body>`, nil, "", 2, false},
		{"creation", `<body sid="s1" requests='3' xmlns:stream="http://etherx.jabber.org/streams"><stream:features><bind/></stream:features></body>`,
			[]string{`<stream:features><bind/></stream:features>`}, "s1", 3, false},
		{"two stanzas", `<body><message to="a"><body>1 2</body></message> <presence/></body>`,
			[]string{`<message to="a"><body>1 2</body></message>`, `<presence/>`}, "", 2, false},
		{"declaration and whitespace", "<?xml version='1.0'?>\n<body sid='x'>\n <a/>\n</body>\n", []string{`<a/>`}, "x", 2, false},
		{"markup in quotes, comments and CDATA", `<body><m a="x>y" b='</m>'><!-- <n> --><![CDATA[</m><x>]]><c/></m></body>`,
			[]string{`<m a="x>y" b='</m>'><!-- <n> --><![CDATA[</m><x>]]><c/></m>`}, "", 2, false},
		{"prefixed sid attribute", `<body xmlns:b="urn:x" b:sid="p"><a/></body>`, []string{`<a/>`}, "p", 2, false},
		{"terminate", `<body type="terminate" condition="item-not-found"/>`, nil, "", 2, true},
		{"not closed", `<body><a></a>`, nil, "", 2, true},
		{"no body", `hello`, nil, "", 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &window{maxOpen: 2}
			ans, err := boshCodec{}.parseAnswer(200, []byte(tt.body))
			w.adoptLocked(ans)
			els := ans.els
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			var got []string
			for _, el := range els {
				got = append(got, string(el))
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("children = %q, want %q", got, tt.want)
			}
			if w.sid != tt.sid || w.maxOpen != tt.requests {
				t.Errorf("sid, requests = %q, %d; want %q, %d", w.sid, w.maxOpen, tt.sid, tt.requests)
			}
		})
	}
}

// FuzzSplitBody checks that no response, however broken, makes the load
// tool panic, and that every child it returns is a slice of the input
// starting with '<' and ending with '>'.
func FuzzSplitBody(f *testing.F) {
	for _, s := range []string{
		`<body/>`, `<body sid="s"><a x='>'/><b><![CDATA[<]]></b></body>`, `<?xml?><body><!-- --></body>`,
		`<body><`, `<body a="`, `<`, `<body><a></body>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, els, err := splitBody(data)
		if err != nil {
			return
		}
		for _, el := range els {
			if len(el) < 2 || el[0] != '<' || el[len(el)-1] != '>' || !bytes.Contains(data, el) {
				t.Fatalf("child %q of %q", el, data)
			}
		}
	})
}
