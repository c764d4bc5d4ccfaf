package limits

import (
	"fmt"
	"time"
)

// Failures says how failed logins under one key (an address, or an
// account) are answered: the first Free cost nothing; then each attempt
// must wait Delay after the last, doubling with every further failure up
// to MaxDelay; after Refuse failures every attempt is refused. A key's
// failures are forgotten Forget after the last one. The zero value of
// each field is its default (DefaultAddrFailures, DefaultAccountFailures);
// a negative Refuse never refuses.
//
// The waits are not slept: an attempt that comes before its turn is
// refused at once with the time to wait, so that an attacker holds
// nothing of the bridge's while waiting, and a guess made in parallel
// with others gets no further than one made after them.
type Failures struct {
	Free     int
	Delay    time.Duration
	MaxDelay time.Duration
	Refuse   int
	Forget   time.Duration
}

// The defaults. Someone who mistypes a password twice, or thrice, meets
// none of it. Per address, an attacker gets 30 guesses in the first ten
// minutes and then none until 15 minutes pass without one; per account,
// from any number of addresses, two a minute. Accounts are
// never refused outright: that would let anyone lock a user out.
var (
	DefaultAddrFailures    = Failures{Free: 5, Delay: time.Second, MaxDelay: 30 * time.Second, Refuse: 30, Forget: 15 * time.Minute}
	DefaultAccountFailures = Failures{Free: 5, Delay: time.Second, MaxDelay: 30 * time.Second, Refuse: -1, Forget: 15 * time.Minute}
)

func (f Failures) withDefaults(d Failures) Failures {
	if f.Free == 0 {
		f.Free = d.Free
	}
	if f.Delay <= 0 {
		f.Delay = d.Delay
	}
	if f.MaxDelay <= 0 {
		f.MaxDelay = d.MaxDelay
	}
	if f.MaxDelay < f.Delay {
		f.MaxDelay = f.Delay
	}
	if f.Refuse == 0 {
		f.Refuse = d.Refuse
	}
	if f.Forget <= 0 {
		f.Forget = d.Forget
	}
	return f
}

// delay is the wait before the attempt that may be the i-th failure past
// the free ones (i ≥ 1).
func (f Failures) delay(i int) time.Duration {
	d := f.Delay
	for ; i > 1 && d < f.MaxDelay; i-- {
		d *= 2
	}
	return min(d, f.MaxDelay)
}

// failState is one key's failures.
type failState struct {
	n       int       // failures not yet forgotten
	pending int       // attempts allowed whose outcome is not known yet
	last    time.Time // the latest failure
	next    time.Time // no attempt before this
}

// tracker is the failures of one kind of key. Its methods are called
// with the Limiter's lock held.
type tracker struct {
	cfg Failures
	max int
	m   map[string]*failState
}

func (t *tracker) get(key string, now time.Time, create bool) *failState {
	if key == "" {
		return nil
	}
	s := t.m[key]
	if s != nil && s.pending == 0 && s.n > 0 && now.Sub(s.last) >= t.cfg.Forget {
		delete(t.m, key)
		s = nil
	}
	if s == nil && create && len(t.m) < t.max {
		s = &failState{}
		t.m[key] = s
	}
	return s
}

// check says whether an attempt under key may go now: nil, or the
// refusal. It does not reserve the attempt (see take).
func (t *tracker) check(key string, now time.Time) *Error {
	s := t.get(key, now, false)
	switch {
	case s == nil:
		return nil
	case t.cfg.Refuse > 0 && s.n >= t.cfg.Refuse:
		return &Error{Refusal: BlockedLogin, RetryAfter: s.last.Add(t.cfg.Forget).Sub(now)}
	case s.n+s.pending < t.cfg.Free:
		return nil
	case now.Before(s.next):
		return &Error{Refusal: ThrottledLogin, RetryAfter: s.next.Sub(now)}
	}
	return nil
}

// take counts an attempt that check allowed as pending; one that would be
// a failure past the free ones pushes the next attempt back, so that
// parallel attempts wait as serial ones do.
func (t *tracker) take(key string, now time.Time) {
	s := t.get(key, now, true)
	if s == nil {
		return
	}
	s.pending++
	if k := s.n + s.pending; k > t.cfg.Free {
		s.next = now.Add(t.cfg.delay(k - t.cfg.Free))
	}
}

// done records the outcome of an attempt taken.
func (t *tracker) done(key string, now time.Time, failed, reset bool) {
	s := t.get(key, now, false)
	if s == nil {
		return
	}
	s.pending = max(s.pending-1, 0)
	switch {
	case failed:
		s.n++
		s.last = now
		if s.n >= t.cfg.Free {
			s.next = later(s.next, now.Add(t.cfg.delay(s.n-t.cfg.Free+1)))
		}
	case reset:
		delete(t.m, key)
		return
	}
	if s.n == 0 && s.pending == 0 {
		delete(t.m, key)
	}
}

func (t *tracker) sweep(now time.Time) {
	for k, s := range t.m {
		if s.pending == 0 && now.Sub(s.last) >= t.cfg.Forget {
			delete(t.m, k)
		}
	}
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// Attempt is one login allowed by Login. Exactly one of Failed, Succeeded
// and Abandoned should be called when its outcome is known; the others
// are then no-ops.
type Attempt struct {
	l             *Limiter
	addr, account string
	done          bool
}

// Login asks whether a login from the client at addr for account (a bare
// JID, lowercased by the caller; empty when not known, as for a SASL
// mechanism that does not name one) may be tried now. It returns the
// attempt to report the outcome on, or an *Error: ThrottledLogin with the
// time to wait, or BlockedLogin.
func (l *Limiter) Login(addr, account string) (*Attempt, error) {
	key := Key(addr)
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(now)
	e := l.fAddr.check(key, now)
	scope := "your address"
	if e == nil {
		e, scope = l.fAcct.check(account, now), "this account"
	}
	if e != nil {
		l.count(e.Refusal)
		// Whole seconds, rounded up: what a client is told to wait.
		e.RetryAfter = (e.RetryAfter + time.Second - 1).Truncate(time.Second)
		if e.Refusal == BlockedLogin {
			e.text = fmt.Sprintf("too many failed logins from %s: refused for %v", scope, e.RetryAfter)
		} else {
			e.text = fmt.Sprintf("too many failed logins for %s: try again in %v", scope, e.RetryAfter)
		}
		e.Account = scope == "this account"
		return nil, e
	}
	l.fAddr.take(key, now)
	l.fAcct.take(account, now)
	return &Attempt{l: l, addr: key, account: account}, nil
}

// Failed records that the login failed: the credentials were refused.
func (a *Attempt) Failed() { a.finish(true, false) }

// Succeeded records that the login succeeded: the account's failures are
// forgotten (the address's are not, or one good account would launder an
// address's guesses at others).
func (a *Attempt) Succeeded() { a.finish(false, true) }

// Abandoned records that the login came to no verdict (the connection
// failed, the client gave up).
func (a *Attempt) Abandoned() { a.finish(false, false) }

func (a *Attempt) finish(failed, succeeded bool) {
	if a == nil {
		return
	}
	l := a.l
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if a.done {
		return
	}
	a.done = true
	if failed {
		l.failures++
	}
	l.fAddr.done(a.addr, now, failed, false)
	l.fAcct.done(a.account, now, failed, succeeded)
}
