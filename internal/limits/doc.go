// Package limits bounds what one client address may do to the bridge:
// how many sessions it holds, how fast it opens new ones, and how many
// logins may fail from it, or for one account, before further attempts
// wait and then are refused.
//
// It only counts and decides; it neither logs nor ends anything. Its
// callers (package bridge) say what happened and act on the answers, and
// the daemon reads the counts (Limiter.Stats) for its metrics.
//
// Addresses are keyed by Key: an IPv4 address as it is, an IPv6 address
// by its /64, since one host commonly holds a whole /64.
//
// Memory is bounded: an entry goes when it has nothing left to say (no
// sessions, a full bucket, failures forgotten), and each table holds at
// most Config.MaxEntries; past that, new keys are refused sessions (an
// address) or not tracked (an account), never the other way round.
//
// Concurrency: a Limiter is safe for concurrent use. It starts no
// goroutines and no timers: every decision compares time.Now with what
// was recorded, so tests run it under testing/synctest.
package limits
