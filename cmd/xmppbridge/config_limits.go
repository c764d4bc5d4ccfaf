package main

import (
	"fmt"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/limits"
)

// Bounds on the abuse limits, beyond their signs.
const (
	maxAuthTimeout   = time.Hour
	maxLoginWait     = 24 * time.Hour // failed_login_delay, _max_delay, _forget
	maxLoginFailures = 1000           // failed_logins_free, _refused
)

// abuseDefaults fills the [limits] keys that bound one client. The
// defaults are the packages' own: limits for the per-address ones,
// bridge for the deadline and the reserved share.
func (l *LimitsConfig) abuseDefaults() {
	setDefault(&l.SessionsPerAddress, limits.DefaultSessionsPerAddr)
	setDefault(&l.OpensPerMinute, limits.DefaultOpensPerMinute)
	setDefault(&l.OpenBurst, limits.DefaultOpenBurst)
	setDefault(&l.ReservedSessions, bridge.DefaultReserved(l.MaxSessions))
	setDefault(&l.AuthTimeout.Duration, bridge.DefaultAuthTimeout)
	d := limits.DefaultAddrFailures
	setDefault(&l.FailedLoginsFree, d.Free)
	setDefault(&l.FailedLoginDelay.Duration, d.Delay)
	setDefault(&l.FailedLoginMaxDelay.Duration, d.MaxDelay)
	setDefault(&l.FailedLoginsRefused, d.Refuse)
	setDefault(&l.FailedLoginsForget.Duration, d.Forget)
}

// checkAbuse checks the [limits] keys that bound one client.
func (l *LimitsConfig) checkAbuse() []ConfigProblem {
	var probs []ConfigProblem
	bad := func(key string, format string, args ...any) {
		probs = append(probs, ConfigProblem{Key: toml.Key{"limits", key}.String(), Msg: fmt.Sprintf(format, args...)})
	}
	countOrOff := func(key string, n int) {
		if n < -1 {
			bad(key, "must be greater than zero, or -1 for no bound")
		}
	}
	countOrOff("sessions_per_address", l.SessionsPerAddress)
	countOrOff("opens_per_minute", l.OpensPerMinute)
	countOrOff("reserved_sessions", l.ReservedSessions)
	countOrOff("failed_logins_refused", l.FailedLoginsRefused)
	if l.OpenBurst < 1 {
		bad("open_burst", "must be greater than zero")
	}
	if l.ReservedSessions >= l.MaxSessions && l.MaxSessions > 0 {
		bad("reserved_sessions", "%d leaves no session of max_sessions (%d) for streams that have not logged in yet", l.ReservedSessions, l.MaxSessions)
	}
	if d := l.AuthTimeout.Duration; d < time.Second || d > maxAuthTimeout {
		bad("auth_timeout", "%v is not between 1s and %v", d, maxAuthTimeout)
	}
	if n := l.FailedLoginsFree; n < 1 || n > maxLoginFailures {
		// Below one, a user's first typo would make them wait.
		bad("failed_logins_free", "%d is not between 1 and %d", n, maxLoginFailures)
	}
	if n := l.FailedLoginsRefused; n > maxLoginFailures || n > 0 && n <= l.FailedLoginsFree {
		bad("failed_logins_refused", "%d is not between failed_logins_free + 1 (%d) and %d, or -1", n, l.FailedLoginsFree+1, maxLoginFailures)
	}
	for _, k := range []struct {
		key string
		d   Duration
	}{{"failed_login_delay", l.FailedLoginDelay}, {"failed_login_max_delay", l.FailedLoginMaxDelay}, {"failed_logins_forget", l.FailedLoginsForget}} {
		if k.d.Duration < time.Second || k.d.Duration > maxLoginWait {
			bad(k.key, "%v is not between 1s and %v", k.d.Duration, maxLoginWait)
		}
	}
	if l.FailedLoginMaxDelay.Duration < l.FailedLoginDelay.Duration {
		bad("failed_login_max_delay", "%v is shorter than failed_login_delay (%v)", l.FailedLoginMaxDelay.Duration, l.FailedLoginDelay.Duration)
	}
	return probs
}

// limiter is the [limits] keys that bound one client as the Limiter
// takes them. Accounts are never refused outright, only made to wait:
// anyone could lock a user out otherwise.
func (l *LimitsConfig) limiter() *limits.Limiter {
	f := limits.Failures{
		Free:     l.FailedLoginsFree,
		Delay:    l.FailedLoginDelay.Duration,
		MaxDelay: l.FailedLoginMaxDelay.Duration,
		Refuse:   l.FailedLoginsRefused,
		Forget:   l.FailedLoginsForget.Duration,
	}
	acct := f
	acct.Refuse = -1
	return limits.New(limits.Config{
		SessionsPerAddr: l.SessionsPerAddress,
		OpensPerMinute:  l.OpensPerMinute,
		OpenBurst:       l.OpenBurst,
		Addr:            f,
		Account:         acct,
	})
}
