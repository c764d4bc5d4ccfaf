package limits

import (
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the Config fields whose zero value means one. They are
// chosen so that a real user never meets them: a page opens one session,
// a reconnecting client a few a minute, and someone who mistypes a
// password twice logs in at the third try without waiting.
const (
	DefaultSessionsPerAddr = 100
	DefaultOpensPerMinute  = 60
	DefaultOpenBurst       = 30
	DefaultMaxEntries      = 100_000
)

// Config says how much an address may do. The zero value of each field is
// its documented default; a negative value turns that limit off.
type Config struct {
	// SessionsPerAddr bounds the sessions one address holds at once.
	// Zero means DefaultSessionsPerAddr.
	SessionsPerAddr int
	// OpensPerMinute is the rate at which one address may open new
	// sessions, with bursts of up to OpenBurst. Zero means
	// DefaultOpensPerMinute and DefaultOpenBurst.
	OpensPerMinute int
	OpenBurst      int
	// Addr and Account say how login failures from one address and for
	// one account are answered (see Failures).
	Addr, Account Failures
	// MaxEntries bounds each table (addresses with sessions or a bucket,
	// addresses with failures, accounts with failures). Zero means
	// DefaultMaxEntries.
	MaxEntries int
}

// Limiter keeps the counts. Its zero value is not usable: call New.
type Limiter struct {
	cfg Config

	mu    sync.Mutex
	addrs map[string]*addrState
	swept time.Time
	fAddr tracker
	fAcct tracker
	// failures counts the failed logins recorded; under mu.
	failures uint64
	refused  [numRefusals]atomic.Uint64
}

// New returns a Limiter with cfg's defaults filled in.
func New(cfg Config) *Limiter {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&cfg.SessionsPerAddr, DefaultSessionsPerAddr)
	def(&cfg.OpensPerMinute, DefaultOpensPerMinute)
	def(&cfg.OpenBurst, DefaultOpenBurst)
	def(&cfg.MaxEntries, DefaultMaxEntries)
	cfg.Addr = cfg.Addr.withDefaults(DefaultAddrFailures)
	cfg.Account = cfg.Account.withDefaults(DefaultAccountFailures)
	l := &Limiter{cfg: cfg, addrs: make(map[string]*addrState)}
	l.fAddr = tracker{cfg: cfg.Addr, max: cfg.MaxEntries, m: make(map[string]*failState)}
	l.fAcct = tracker{cfg: cfg.Account, max: cfg.MaxEntries, m: make(map[string]*failState)}
	return l
}

// Config is the configuration in use, defaults filled in.
func (l *Limiter) Config() Config { return l.cfg }

// Key is what an address is counted under: an IP address without its
// port and zone, IPv4-mapped IPv6 as IPv4, IPv6 as its /64. addr may be
// host:port (as http.Request.RemoteAddr) or a bare address. Anything
// else, such as a Unix socket's name, is its own key.
func Key(addr string) string {
	host := addr
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return keyOf(ap.Addr())
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if ip, err := netip.ParseAddr(host); err == nil {
		return keyOf(ip)
	}
	return addr
}

func keyOf(ip netip.Addr) string {
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// Refusal names why the Limiter said no, for metrics.
type Refusal uint8

const (
	// RefusedSessions: the address holds SessionsPerAddr sessions.
	RefusedSessions Refusal = iota
	// RefusedRate: the address opened sessions faster than OpensPerMinute.
	RefusedRate
	// RefusedTable: too many addresses are tracked to track another.
	RefusedTable
	// ThrottledLogin: a login came before the wait its failures earned
	// had passed.
	ThrottledLogin
	// BlockedLogin: a login came from an address, or for an account,
	// whose failures reached Refuse.
	BlockedLogin

	numRefusals
)

var refusalNames = [numRefusals]string{"sessions", "rate", "table", "throttled", "blocked"}

// String is a short name, for logs and metric labels.
func (r Refusal) String() string {
	if r < numRefusals {
		return refusalNames[r]
	}
	return "unknown"
}

// Stats are counts over the Limiter's life, for metrics.
type Stats struct {
	// Refused counts the refusals of each kind, indexed by Refusal.
	Refused [numRefusals]uint64
	// LoginFailures counts the failed logins recorded.
	LoginFailures uint64
	// Addrs, FailingAddrs and FailingAccounts are the entries held now.
	Addrs, FailingAddrs, FailingAccounts int
}

// Stats returns the counts so far.
func (l *Limiter) Stats() Stats {
	var s Stats
	for i := range s.Refused {
		s.Refused[i] = l.refused[i].Load()
	}
	l.mu.Lock()
	s.Addrs = len(l.addrs)
	s.FailingAddrs = len(l.fAddr.m)
	s.FailingAccounts = len(l.fAcct.m)
	s.LoginFailures = l.failures
	l.mu.Unlock()
	return s
}

// Refusals are the Refusal values, for ranging over Stats.Refused.
func Refusals() []Refusal {
	r := make([]Refusal, numRefusals)
	for i := range r {
		r[i] = Refusal(i)
	}
	return r
}

func (l *Limiter) count(r Refusal) { l.refused[r].Add(1) }

// sweepLocked drops what has nothing left to say, at most once a minute.
func (l *Limiter) sweepLocked(now time.Time) {
	if now.Sub(l.swept) < time.Minute {
		return
	}
	l.swept = now
	for k, a := range l.addrs {
		if a.idle(l, now) {
			delete(l.addrs, k)
		}
	}
	l.fAddr.sweep(now)
	l.fAcct.sweep(now)
}
