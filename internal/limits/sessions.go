package limits

import (
	"fmt"
	"time"
)

// addrState is one address's sessions and its bucket of opens.
type addrState struct {
	sessions int
	tokens   float64
	filled   time.Time // when tokens was last brought up to date
}

// refill brings the bucket up to now.
func (a *addrState) refill(l *Limiter, now time.Time) {
	if l.cfg.OpensPerMinute < 0 {
		return
	}
	burst := float64(max(l.cfg.OpenBurst, 1))
	a.tokens = min(burst, a.tokens+now.Sub(a.filled).Minutes()*float64(l.cfg.OpensPerMinute))
	a.filled = now
}

// idle reports whether the entry says nothing a fresh one would not.
func (a *addrState) idle(l *Limiter, now time.Time) bool {
	if a.sessions > 0 {
		return false
	}
	a.refill(l, now)
	return l.cfg.OpensPerMinute < 0 || a.tokens >= float64(max(l.cfg.OpenBurst, 1))
}

// Error is a refusal, with what to tell the client.
type Error struct {
	Refusal Refusal
	// RetryAfter is how long until the same request may succeed; zero
	// when that depends on something else (a session ending).
	RetryAfter time.Duration
	// Account, for a login refused, says the account's failures refused
	// it rather than the address's.
	Account bool
	text    string
}

func (e *Error) Error() string { return "limits: " + e.text }

// Text is the refusal in words for the client (without the package
// prefix).
func (e *Error) Text() string { return e.text }

// Open asks for a new session of the client at addr. On success it
// returns the function that gives the session's place back when the
// session ends (safe to call more than once); otherwise an *Error.
func (l *Limiter) Open(addr string) (release func(), err error) {
	key := Key(addr)
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweepLocked(now)
	a := l.addrs[key]
	if a == nil {
		if len(l.addrs) >= l.cfg.MaxEntries {
			l.count(RefusedTable)
			return nil, &Error{Refusal: RefusedTable, text: "the bridge tracks too many client addresses"}
		}
		a = &addrState{tokens: float64(max(l.cfg.OpenBurst, 1)), filled: now}
		l.addrs[key] = a
	}
	if l.cfg.SessionsPerAddr > 0 && a.sessions >= l.cfg.SessionsPerAddr {
		l.count(RefusedSessions)
		return nil, &Error{Refusal: RefusedSessions, text: fmt.Sprintf("too many sessions from your address (%d)", l.cfg.SessionsPerAddr)}
	}
	if l.cfg.OpensPerMinute > 0 {
		a.refill(l, now)
		if a.tokens < 1 {
			l.count(RefusedRate)
			wait := time.Duration((1 - a.tokens) / float64(l.cfg.OpensPerMinute) * float64(time.Minute))
			return nil, &Error{Refusal: RefusedRate, RetryAfter: wait, text: "too many new sessions from your address: slow down"}
		}
		a.tokens--
	}
	a.sessions++
	released := false
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if released {
			return
		}
		released = true
		a.sessions--
		if a.idle(l, time.Now()) && l.addrs[key] == a {
			delete(l.addrs, key)
		}
	}, nil
}

// Sessions is how many sessions the client at addr holds.
func (l *Limiter) Sessions(addr string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a := l.addrs[Key(addr)]; a != nil {
		return a.sessions
	}
	return 0
}
