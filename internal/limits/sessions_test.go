package limits

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"
)

func TestSessionsPerAddr(t *testing.T) {
	l := New(Config{SessionsPerAddr: 3, OpensPerMinute: -1})
	var rel []func()
	for i := range 3 {
		r, err := l.Open("192.0.2.1:" + fmt.Sprint(1000+i))
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		rel = append(rel, r)
	}
	if _, err := l.Open("192.0.2.1:2000"); refusal(err) != RefusedSessions {
		t.Fatalf("fourth session: %v, want RefusedSessions", err)
	}
	if _, err := l.Open("192.0.2.2:2000"); err != nil {
		t.Fatalf("another address: %v", err)
	}
	rel[0]()
	rel[0]() // twice is once
	if n := l.Sessions("192.0.2.1"); n != 2 {
		t.Fatalf("sessions after a release: %d, want 2", n)
	}
	if _, err := l.Open("192.0.2.1:2000"); err != nil {
		t.Fatalf("after a release: %v", err)
	}
	if got := l.Stats().Refused[RefusedSessions]; got != 1 {
		t.Errorf("RefusedSessions counted %d, want 1", got)
	}
}

func TestSessionsOff(t *testing.T) {
	l := New(Config{SessionsPerAddr: -1, OpensPerMinute: -1})
	for i := range 1000 {
		if _, err := l.Open("192.0.2.1:1"); err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
	}
}

func TestOpenRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{OpensPerMinute: 60, OpenBurst: 5})
		for i := range 5 {
			r, err := l.Open("192.0.2.1:1")
			if err != nil {
				t.Fatalf("open %d of the burst: %v", i, err)
			}
			r()
		}
		_, err := l.Open("192.0.2.1:1")
		if refusal(err) != RefusedRate {
			t.Fatalf("past the burst: %v, want RefusedRate", err)
		}
		if e := err.(*Error); e.RetryAfter <= 0 || e.RetryAfter > time.Second {
			t.Errorf("RetryAfter %v, want within a second at 60/min", e.RetryAfter)
		}
		if _, err := l.Open("192.0.2.2:1"); err != nil {
			t.Fatalf("another address: %v", err)
		}
		time.Sleep(time.Second)
		if _, err := l.Open("192.0.2.1:1"); err != nil {
			t.Fatalf("a second later: %v", err)
		}
		if _, err := l.Open("192.0.2.1:1"); refusal(err) != RefusedRate {
			t.Fatalf("the token of that second is spent: %v", err)
		}
		time.Sleep(time.Minute)
		for i := range 5 {
			if _, err := l.Open("192.0.2.1:1"); err != nil {
				t.Fatalf("a minute later, open %d: the bucket refills only to the burst: %v", i, err)
			}
		}
		if _, err := l.Open("192.0.2.1:1"); refusal(err) != RefusedRate {
			t.Fatalf("the bucket held more than the burst: %v", err)
		}
	})
}

func TestIPv6Prefix(t *testing.T) {
	l := New(Config{SessionsPerAddr: 2, OpensPerMinute: -1})
	l.Open("[2001:db8::1]:1")
	l.Open("[2001:db8::2]:1")
	if _, err := l.Open("[2001:db8::ffff:3]:1"); refusal(err) != RefusedSessions {
		t.Fatalf("a third address of the same /64: %v, want RefusedSessions", err)
	}
	if _, err := l.Open("[2001:db8:0:1::1]:1"); err != nil {
		t.Fatalf("another /64: %v", err)
	}
}

func TestTableBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{MaxEntries: 2})
		l.Open("192.0.2.1:1")
		r2, _ := l.Open("192.0.2.2:1")
		if _, err := l.Open("192.0.2.3:1"); refusal(err) != RefusedTable {
			t.Fatalf("a third address with a table of 2: %v", err)
		}
		// A released address whose bucket refilled is forgotten.
		r2()
		time.Sleep(time.Minute)
		if _, err := l.Open("192.0.2.3:1"); err != nil {
			t.Fatalf("after one address went: %v", err)
		}
		if n := l.Stats().Addrs; n != 2 {
			t.Errorf("addresses held: %d, want 2", n)
		}
	})
}
