package main

import (
	"strings"
	"testing"
)

func TestBOSHChildren(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    []string
		sid     string
		wantErr bool
	}{
		{"empty", `<body xmlns="http://jabber.org/protocol/httpbind"/>`, nil, "", false},
		{"creation", `<body sid="s1" xmlns:stream="http://etherx.jabber.org/streams"><stream:features><bind/></stream:features></body>`,
			[]string{`<stream:features><bind/></stream:features>`}, "s1", false},
		{"two stanzas", `<body><message to="a"><body>1 2</body></message> <presence/></body>`,
			[]string{`<message to="a"><body>1 2</body></message>`, `<presence/>`}, "", false},
		{"terminate", `<body type="terminate" condition="item-not-found"/>`, nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &boshStream{}
			els, err := s.children([]byte(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			var got []string
			for _, el := range els {
				got = append(got, string(el))
			}
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("children = %q, want %q", got, tt.want)
			}
			if s.sid != tt.sid {
				t.Errorf("sid = %q, want %q", s.sid, tt.sid)
			}
		})
	}
}
