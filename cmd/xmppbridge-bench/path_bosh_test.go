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
			s := &boshStream{maxOpen: 2}
			els, err := s.children([]byte(tt.body))
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
			if s.sid != tt.sid || s.maxOpen != tt.requests {
				t.Errorf("sid, requests = %q, %d; want %q, %d", s.sid, s.maxOpen, tt.sid, tt.requests)
			}
		})
	}
}

func TestNextRequest(t *testing.T) {
	tests := []struct {
		name          string
		open, maxOpen int
		restart       bool
		queued        int
		want          boshNext
	}{
		{"idle session polls", 0, 2, false, 0, boshPoll},
		{"one held: no second empty request", 1, 2, false, 0, boshNone},
		{"stanza beside the held request", 1, 2, false, 1, boshPayload},
		{"both open: stanzas wait", 2, 2, false, 3, boshNone},
		{"restart before stanzas", 1, 2, true, 2, boshRestart},
		{"restart waits for a free request", 2, 2, true, 0, boshNone},
		{"stanza with nothing open", 0, 2, false, 1, boshPayload},
		{"requests=1 server", 1, 1, false, 1, boshNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nextRequest(tt.open, tt.maxOpen, tt.restart, tt.queued); got != tt.want {
				t.Errorf("nextRequest(%d, %d, %v, %d) = %d, want %d", tt.open, tt.maxOpen, tt.restart, tt.queued, got, tt.want)
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
