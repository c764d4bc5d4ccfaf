package jsonapi

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/xmppclient"
)

func TestResumeToken(t *testing.T) {
	h := New(Config{})
	other := New(Config{})
	shared := New(Config{ResumeKey: h.cfg.ResumeKey})
	now := time.Unix(1_800_000_000, 0)
	for _, tok := range []resumeToken{
		{key: [16]byte{1, 2, 3}, gen: 7, expires: now.Add(time.Minute), domain: "example.com"},
		{key: [16]byte{4}, gen: 1, expires: now.Add(time.Minute), domain: "example.com", jid: "alice@example.com/web", smID: "abc",
			secret: &xmppclient.Secret{Mechanism: "SCRAM-SHA-256", Salt: []byte("salt"), Iter: 4096, Salted: []byte("0123456789abcdef0123456789abcdef")}},
	} {
		s := h.sealToken(tok)
		if strings.Contains(s, "example") || strings.Contains(s, "alice") {
			t.Fatalf("the token shows what it carries: %s", s)
		}
		got, err := h.openToken(s, now)
		if err != nil || !reflect.DeepEqual(got, tok) {
			t.Fatalf("openToken = %+v, %v; want %+v", got, err, tok)
		}
		if got, err := shared.openToken(s, now); err != nil || !reflect.DeepEqual(got, tok) {
			t.Fatalf("another bridge with the same key: %+v, %v", got, err)
		}
		if _, err := other.openToken(s, now); err == nil {
			t.Fatal("a bridge with another key took the token")
		}
		if _, err := h.openToken(s, now.Add(2*time.Minute)); err == nil {
			t.Fatal("an expired token was taken")
		}
		flipped := []byte(s)
		flipped[len(s)/2] ^= 1 // one bit of the sealed payload
		for _, bad := range []string{"", "x", ".", s + "x", s[:len(s)-1], string(flipped), strings.Repeat("a", 2000)} {
			if _, err := h.openToken(bad, now); err == nil {
				t.Errorf("openToken(%q) succeeded", bad)
			}
		}
	}
}

func FuzzOpenToken(f *testing.F) {
	h := New(Config{ResumeKey: []byte("0123456789abcdef0123456789abcdef")})
	f.Add(h.sealToken(resumeToken{gen: 1, expires: time.Unix(1<<40, 0), domain: "a.example"}))
	f.Add("AQ.AA")
	f.Fuzz(func(t *testing.T, s string) {
		// Whatever opens is the bridge's own (a forgery would have to
		// break GCM), and reads back the same when sealed again.
		tok, err := h.openToken(s, time.Unix(0, 0))
		if err != nil {
			return
		}
		again, err := h.openToken(h.sealToken(tok), time.Unix(0, 0))
		if err != nil || !reflect.DeepEqual(again, tok) {
			t.Fatalf("%+v sealed again reads %+v, %v", tok, again, err)
		}
	})
}
