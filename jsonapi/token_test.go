package jsonapi

import (
	"strings"
	"testing"
	"time"
)

func TestResumeToken(t *testing.T) {
	h := New(Config{})
	other := New(Config{})
	shared := New(Config{ResumeKey: h.cfg.ResumeKey})
	now := time.Unix(1_800_000_000, 0)
	tok := resumeToken{key: [16]byte{1, 2, 3}, gen: 7, expires: now.Add(time.Minute), domain: "example.com"}
	s := h.sealToken(tok)

	got, err := h.openToken(s, now)
	if err != nil || got != tok {
		t.Fatalf("openToken = %+v, %v; want %+v", got, err, tok)
	}
	if got, err := shared.openToken(s, now); err != nil || got != tok {
		t.Fatalf("another bridge with the same key: %+v, %v", got, err)
	}
	if _, err := other.openToken(s, now); err == nil {
		t.Fatal("a bridge with another key took the token")
	}
	if _, err := h.openToken(s, now.Add(2*time.Minute)); err == nil {
		t.Fatal("an expired token was taken")
	}
	flipped := []byte(s)
	flipped[5] ^= 1 // one bit of the payload
	for _, bad := range []string{"", "x", ".", s + "x", string(flipped), strings.Replace(s, ".", ".A", 1), strings.Repeat("a", 600)} {
		if _, err := h.openToken(bad, now); err == nil {
			t.Errorf("openToken(%q) succeeded", bad)
		}
	}
}

func FuzzOpenToken(f *testing.F) {
	h := New(Config{ResumeKey: []byte("0123456789abcdef0123456789abcdef")})
	f.Add(h.sealToken(resumeToken{gen: 1, expires: time.Unix(1<<40, 0), domain: "a.example"}))
	f.Add("AQ.AA")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := h.openToken(s, time.Unix(0, 0))
		if err == nil && h.sealToken(tok) != s {
			t.Fatalf("a token that is not the bridge's own was taken: %q", s)
		}
	})
}
