package limits

import (
	"testing"
	"testing/synctest"
	"time"
)

// fail makes one attempt and records its failure.
func fail(t *testing.T, l *Limiter, addr, account string) {
	t.Helper()
	a, err := l.Login(addr, account)
	if err != nil {
		t.Fatalf("attempt refused: %v", err)
	}
	a.Failed()
}

func TestMistypedTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{})
		fail(t, l, "192.0.2.1:1", "alice@example.com")
		fail(t, l, "192.0.2.1:1", "alice@example.com")
		a, err := l.Login("192.0.2.1:1", "alice@example.com")
		if err != nil {
			t.Fatalf("the third try of a user who mistyped twice: %v", err)
		}
		a.Succeeded()
		if n := l.Stats().FailingAccounts; n != 0 {
			t.Errorf("a success keeps %d failing accounts, want 0", n)
		}
	})
}

func TestAddrDelaysThenRefuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := Failures{Free: 2, Delay: time.Second, MaxDelay: 4 * time.Second, Refuse: 6, Forget: time.Hour}
		l := New(Config{Addr: f, Account: Failures{Free: 1000}})
		addr := "192.0.2.1:1"
		fail(t, l, addr, "a@x")
		fail(t, l, addr, "b@x")
		// Two failures, free: now 1s, then 2s, 4s, 4s between attempts.
		for i, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second} {
			_, err := l.Login(addr, "c@x")
			if refusal(err) != ThrottledLogin {
				t.Fatalf("failure %d: an attempt at once: %v, want ThrottledLogin", i+3, err)
			}
			if e := err.(*Error); e.RetryAfter != wait || e.Account {
				t.Errorf("failure %d: RetryAfter %v (account %v), want %v for the address", i+3, e.RetryAfter, e.Account, wait)
			}
			if _, err := l.Login("192.0.2.2:1", "c@x"); err != nil {
				t.Fatalf("another address is not throttled: %v", err)
			}
			time.Sleep(wait - time.Millisecond)
			if _, err := l.Login(addr, "c@x"); refusal(err) != ThrottledLogin {
				t.Fatalf("failure %d: just before the wait is over: %v", i+3, err)
			}
			time.Sleep(time.Millisecond)
			fail(t, l, addr, "c@x")
		}
		_, err := l.Login(addr, "d@x")
		if refusal(err) != BlockedLogin {
			t.Fatalf("after %d failures: %v, want BlockedLogin", f.Refuse, err)
		}
		time.Sleep(59 * time.Minute)
		if _, err := l.Login(addr, "d@x"); refusal(err) != BlockedLogin {
			t.Fatalf("before Forget passed: %v, want BlockedLogin", err)
		}
		time.Sleep(time.Minute)
		if _, err := l.Login(addr, "d@x"); err != nil {
			t.Fatalf("once Forget passed: %v", err)
		}
		st := l.Stats()
		if st.LoginFailures != 6 || st.Refused[ThrottledLogin] == 0 || st.Refused[BlockedLogin] != 2 {
			t.Errorf("stats %+v", st)
		}
	})
}

func TestAccountDelaysNeverRefuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{Addr: Failures{Free: 1000}})
		acct := "alice@example.com"
		// From many addresses, as a botnet would.
		for i := range 40 {
			addr := "192.0.2." + string(rune('0'+i%10)) + ":1"
			a, err := l.Login(addr, acct)
			for err != nil {
				if refusal(err) != ThrottledLogin {
					t.Fatalf("attempt %d: %v, want only ThrottledLogin for an account", i, err)
				}
				if !err.(*Error).Account {
					t.Fatalf("attempt %d: refused for the address, not the account", i)
				}
				time.Sleep(err.(*Error).RetryAfter)
				a, err = l.Login(addr, acct)
			}
			a.Failed()
		}
		// The waits top out at MaxDelay.
		_, err := l.Login("198.51.100.1:1", acct)
		if e, ok := err.(*Error); !ok || e.RetryAfter != DefaultAccountFailures.MaxDelay {
			t.Fatalf("after 40 failures: %v, want a wait of %v", err, DefaultAccountFailures.MaxDelay)
		}
		time.Sleep(DefaultAccountFailures.MaxDelay)
		a, err := l.Login("198.51.100.1:1", acct)
		if err != nil {
			t.Fatalf("the owner, once the wait is over: %v", err)
		}
		a.Succeeded()
		if _, err := l.Login("198.51.100.2:1", acct); err != nil {
			t.Fatalf("after a success the account starts afresh: %v", err)
		}
	})
}

func TestParallelAttemptsWaitAsSerialOnes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{Addr: Failures{Free: 2, Delay: time.Second, MaxDelay: time.Minute, Refuse: -1}})
		var allowed []*Attempt
		for range 10 {
			if a, err := l.Login("192.0.2.1:1", ""); err == nil {
				allowed = append(allowed, a)
			}
		}
		// Two free ones, and one that takes the next turn.
		if len(allowed) != 3 {
			t.Fatalf("%d attempts in parallel allowed, want 3", len(allowed))
		}
		for _, a := range allowed {
			a.Failed()
		}
		_, err := l.Login("192.0.2.1:1", "")
		if e, ok := err.(*Error); !ok || e.RetryAfter != 2*time.Second {
			t.Fatalf("after three failures: %v, want a wait of 2s", err)
		}
	})
}

func TestAbandonedCostsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{Addr: Failures{Free: 1}})
		for range 5 {
			a, err := l.Login("192.0.2.1:1", "a@x")
			if err != nil {
				t.Fatalf("after abandoned attempts: %v", err)
			}
			a.Abandoned()
			a.Failed() // after the outcome: a no-op
		}
		if st := l.Stats(); st.FailingAddrs != 0 || st.FailingAccounts != 0 || st.LoginFailures != 0 {
			t.Errorf("abandoned attempts left %+v", st)
		}
	})
}

func TestFailuresForgotten(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := New(Config{})
		for range 3 {
			fail(t, l, "192.0.2.1:1", "a@x")
		}
		time.Sleep(DefaultAddrFailures.Forget + time.Minute)
		// The sweep runs on the next call.
		l.Login("192.0.2.9:1", "")
		if st := l.Stats(); st.FailingAddrs != 1 || st.FailingAccounts != 0 {
			t.Errorf("after Forget: %+v, want only the new attempt's address", st)
		}
	})
}
