package main

import (
	"strings"
	"testing"
)

func TestProsodyAccount(t *testing.T) {
	// Written by prosodyctl register (Prosody 0.12.3) for password "secret".
	got := string(prosodyAccount("secret", "f89d7998-e8de-45ee-a6ad-4ac39dde5b4b", 10000))
	for _, want := range []string{
		`["salt"] = "f89d7998-e8de-45ee-a6ad-4ac39dde5b4b";`,
		`["stored_key"] = "48f8e888af2dbd117e0bbc48a6e6ff2acb5a902e";`,
		`["iteration_count"] = 10000;`,
		`["server_key"] = "a0ab2fc72ded7c398967db648f0d8f6f2daca670";`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("account file lacks %s:\n%s", want, got)
		}
	}
}

func TestProsodyEncode(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "load42", "load42"},
		{"dot", "example.com", "example%2ecom"},
		{"underscore", "a_b", "a%5fb"},
		{"at and dash", "x-y@z", "x%2dy%40z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := prosodyEncode(tt.in); got != tt.want {
				t.Errorf("prosodyEncode(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
