package limits

import (
	"errors"
	"testing"
)

func TestKey(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"ipv4 with port", "192.0.2.7:4242", "192.0.2.7"},
		{"ipv4 bare", "192.0.2.7", "192.0.2.7"},
		{"ipv4-mapped", "[::ffff:192.0.2.7]:1", "192.0.2.7"},
		{"ipv6 with port", "[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"ipv6 same /64", "[2001:db8:1:2:ffff::1]:80", "2001:db8:1:2::/64"},
		{"ipv6 bare", "2001:db8:1:2::9", "2001:db8:1:2::/64"},
		{"ipv6 bracketed", "[::1]", "::/64"},
		{"not an address", "@unix", "@unix"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Key(tc.in); got != tc.want {
				t.Errorf("Key(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c := New(Config{}).Config()
	if c.SessionsPerAddr != DefaultSessionsPerAddr || c.OpensPerMinute != DefaultOpensPerMinute || c.OpenBurst != DefaultOpenBurst || c.MaxEntries != DefaultMaxEntries {
		t.Errorf("defaults not filled in: %+v", c)
	}
	if c.Addr != DefaultAddrFailures || c.Account != DefaultAccountFailures {
		t.Errorf("failure defaults not filled in: %+v %+v", c.Addr, c.Account)
	}
	if c.Addr.Free < 3 || c.Account.Free < 3 {
		t.Errorf("a user who mistypes twice would wait: %+v %+v", c.Addr, c.Account)
	}
}

func refusal(err error) Refusal {
	var e *Error
	if errors.As(err, &e) {
		return e.Refusal
	}
	return numRefusals
}

func TestRefusalNames(t *testing.T) {
	for _, r := range Refusals() {
		if r.String() == "unknown" || r.String() == "" {
			t.Errorf("refusal %d has no name", r)
		}
	}
}
