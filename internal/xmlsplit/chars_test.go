package xmlsplit

import (
	"testing"
	"unicode/utf8"
)

// charLenRef is charLen written with package utf8.
func charLenRef(p []byte) int {
	r, n := utf8.DecodeRune(p)
	switch {
	case r == utf8.RuneError && n == 1 && !utf8.FullRune(p):
		return 0
	case r == utf8.RuneError && n == 1, !isChar(r):
		return -1
	}
	return n
}

func TestCharLen(t *testing.T) {
	check := func(p []byte) {
		if got, want := charLen(p), charLenRef(p); got != want {
			t.Fatalf("charLen(% x) = %d, want %d", p, got, want)
		}
	}
	// Every sequence of up to three bytes, and every four-byte one with
	// interesting continuation bytes.
	var p [4]byte
	for a := range 256 {
		p[0] = byte(a)
		check(p[:1])
		for b := range 256 {
			p[1] = byte(b)
			check(p[:2])
			if a < 0xE0 || a >= 0xF8 {
				continue
			}
			for c := range 256 {
				p[2] = byte(c)
				check(p[:3])
				if a < 0xF0 || c&0xC0 != 0x80 && c != 0 && c != 0xC0 {
					continue
				}
				for _, d := range []byte{0, 0x7F, 0x80, 0xBF, 0xC0, 0xFF} {
					p[3] = d
					check(p[:4])
				}
			}
		}
	}
}

func TestCharRef(t *testing.T) {
	tests := []struct {
		digits string
		hex    bool
		want   rune
		ok     bool
	}{
		{"65", false, 'A', true},
		{"0000000065", false, 'A', true},
		{"41", true, 'A', true},
		{"10FFFF", true, 0x10FFFF, true},
		{"10fffF", true, 0x10FFFF, true},
		{"110000", true, 0, false},
		{"1114111", false, 0x10FFFF, true},
		{"1114112", false, 0, false},
		{"99999999", false, 0, false},
		{"", false, 0, false},
		{"4g", true, 0, false},
		{"a", false, 0, false},
	}
	for _, tt := range tests {
		if got, ok := charRef([]byte(tt.digits), tt.hex); ok != tt.ok || ok && got != tt.want {
			t.Errorf("charRef(%q, %v) = %U, %v", tt.digits, tt.hex, got, ok)
		}
	}
}
