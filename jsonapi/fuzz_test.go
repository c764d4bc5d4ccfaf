package jsonapi

import (
	"testing"
)

// FuzzParsePost: any request body is either refused with an error frame's
// code or gives a request whose rid is in range.
func FuzzParsePost(f *testing.F) {
	for _, s := range []string{
		`{"rid":1,"frames":[{"kind":"login","jid":"a@b","password":"p"}]}`,
		`{"sid":"abc","rid":9007199254740991,"ack":3,"wait":30,"hold":1,"pause":10,"frames":[]}`,
		`{"rid":-1}`, `{"rid":1e3}`, `[]`, `null`, `{"frames":{}}`, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, e := parsePost(b)
		if e != nil {
			if p != nil || e.code == "" || errorType(e.code) == "" {
				t.Fatalf("refusal %+v with %+v", e, p)
			}
			return
		}
		if p.RID == nil || *p.RID == 0 || *p.RID > maxRID {
			t.Fatalf("accepted rid %v", p.RID)
		}
	})
}

// FuzzParseLogin: any first frame is a login with what it needs, or an
// error frame's code.
func FuzzParseLogin(f *testing.F) {
	for _, s := range []string{
		`{"kind":"login","jid":"a@b","password":"p","resource":"r","id":"1"}`,
		`{"kind":"login","token":"t"}`, `{"kind":"message"}`, `{"kind":7}`, `{}`, `"login"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		l, e := parseLogin(b)
		if e != nil {
			if l != nil || e.code == "" {
				t.Fatalf("refusal %+v with %+v", e, l)
			}
			return
		}
		if l.Kind != "login" || l.Token == "" && (l.JID == "" || l.Password == "") {
			t.Fatalf("accepted %+v", l)
		}
		if _, _, ok := splitJID(l.JID); ok && l.JID == "" {
			t.Fatal("empty JID split")
		}
	})
}
