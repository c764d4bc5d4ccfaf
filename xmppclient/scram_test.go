package xmppclient

import (
	"errors"
	"testing"
)

// TestScramVectors runs the examples of RFC 5802 §5 (SCRAM-SHA-1) and
// RFC 7677 §3 (SCRAM-SHA-256), and logs in again with the Secret each
// derived instead of the password.
func TestScramVectors(t *testing.T) {
	for _, v := range []struct {
		mech, nonce, serverFirst, clientFinal, serverFinal string
	}{
		{
			"SCRAM-SHA-1", "fyko+d2lbbFgONRv9qkxdawL",
			"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
			"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
			"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
		},
		{
			"SCRAM-SHA-256", "rOprNGfwEbeRWgbNEkqO",
			"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
			"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
			"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
		},
	} {
		t.Run(v.mech, func(t *testing.T) {
			var secret *Secret
			for _, cred := range []Credentials{{Username: "user", Password: "pencil"}, {Username: "user"}} {
				if secret != nil {
					cred.Secret = secret
				}
				s := newScram(v.mech, &cred)
				s.nonce = v.nonce
				if got := string(s.first()); got != "n,,n=user,r="+v.nonce {
					t.Fatalf("client-first %q", got)
				}
				final, err := s.final([]byte(v.serverFirst))
				if err != nil || string(final) != v.clientFinal {
					t.Fatalf("client-final %q, %v; want %q", final, err, v.clientFinal)
				}
				if err := s.verify([]byte(v.serverFinal)); err != nil {
					t.Fatalf("verify: %v", err)
				}
				if err := s.verify([]byte("v=AAAA")); err == nil {
					t.Fatal("a forged server signature was taken")
				}
				secret = s.derived
			}
		})
	}
}

func TestScramRefuses(t *testing.T) {
	stale := &Secret{Mechanism: "SCRAM-SHA-1", Salt: []byte("other"), Iter: 4096, Salted: make([]byte, 20)}
	for _, c := range []struct {
		name, serverFirst string
		secret            *Secret
		want              error
	}{
		{"nonce not ours", "r=someone-else,s=QSXCR+Q6sek8bf92,i=4096", nil, errScram},
		{"nonce not extended", "r=abc,s=QSXCR+Q6sek8bf92,i=4096", nil, errScram},
		{"no salt", "r=abcdef,i=4096", nil, errScram},
		{"iterations out of bounds", "r=abcdef,s=QSXCR+Q6sek8bf92,i=100000000", nil, errScram},
		{"extension required", "m=x,r=abcdef,s=QSXCR+Q6sek8bf92,i=4096", nil, errScram},
		{"another salt than the secret's", "r=abcdef,s=QSXCR+Q6sek8bf92,i=4096", stale, ErrSecretStale},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newScram("SCRAM-SHA-1", &Credentials{Username: "u", Password: "p", Secret: c.secret})
			s.nonce = "abc"
			s.first()
			if _, err := s.final([]byte(c.serverFirst)); !errors.Is(err, c.want) {
				t.Fatalf("final: %v, want %v", err, c.want)
			}
		})
	}
	if got := saslName("a=b,c"); got != "a=3Db=2Cc" {
		t.Fatalf("saslName: %q", got)
	}
}

func FuzzScramServerFirst(f *testing.F) {
	f.Add("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096")
	f.Add("r=,s=,i=")
	f.Fuzz(func(t *testing.T, serverFirst string) {
		s := newScram("SCRAM-SHA-256", &Credentials{Username: "u", Password: "p"})
		s.nonce = "fyko+d2lbbFgONRv9qkxdawL"
		s.first()
		if _, err := s.final([]byte(serverFirst)); err == nil {
			_ = s.verify([]byte(serverFirst))
		}
	})
}
