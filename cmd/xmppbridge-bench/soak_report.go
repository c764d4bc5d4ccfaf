package main

import (
	"fmt"
	"io"
	"maps"
	"runtime"
	"slices"
	"strings"
	"time"
)

// soakResults is the whole JSON document of a soak.
type soakResults struct {
	Command   string         `json:"command"`
	Started   time.Time      `json:"started"`
	Machine   string         `json:"machine"`
	GoVersion string         `json:"go"`
	Users     int            `json:"users"`
	Rate      float64        `json:"target_rate_per_s"`
	Duration  string         `json:"message_phase"`
	Paths     []*soakPath    `json:"paths"`
	Injected  map[string]int `json:"faults_injected"`
	Malformed []*expectation `json:"malformed"`
	WrongEnds []sessionEnd   `json:"sessions_wrongly_ended"`
	Stray     int64          `json:"stray_messages"` // from nobody who sends to their receiver
	Baseline  resSample      `json:"baseline"`
	Peak      resSample      `json:"peak"` // the highest of each, not one reading
	Final     resSample      `json:"final"`
	Slack     struct {
		Goroutines int     `json:"goroutines"`
		FDs        int     `json:"fds"`
		RSSMiB     float64 `json:"rss_mib"`
	} `json:"slack"`
	Resources []resSample `json:"resources"`
	Leftover  string      `json:"leftover_goroutines,omitempty"` // the bridge's goroutine profile when it did not come back
	Pass      bool        `json:"pass"`
	Problems  []string    `json:"problems,omitempty"`
}

// soakPath is what happened on one path. Messages are counted at their
// receiver's path; lost, duplicated and reordered are those that should
// have been kept (no fault excuses them), and excused counts the others
// by the fault that excuses them.
type soakPath struct {
	Path         string           `json:"path"`
	Users        int              `json:"users"`
	Logins       int              `json:"logins"`
	LoginsFailed int              `json:"logins_failed"` // and tried again
	FirstFailure string           `json:"first_login_failure,omitempty"`
	SentBy       int64            `json:"messages_sent_by"` // by its users, to whichever path
	Sent         int64            `json:"messages_sent_to"` // to its users
	Poison       int64            `json:"poison_sent_to"`
	Received     int64            `json:"messages_received"`
	Lost         int64            `json:"messages_lost"`
	Duplicated   int64            `json:"messages_duplicated"`
	Reordered    int64            `json:"messages_reordered"`
	PoisonLost   int64            `json:"poison_lost"`
	Excused      map[string]int64 `json:"excused"` // lost, duplicated or reordered, by fault
	Ends         map[string]int   `json:"session_ends"`
	Wrong        int              `json:"sessions_wrongly_ended"`
}

// sessionEnd is a session that ended other than by the tool's hand.
type sessionEnd struct {
	User    string  `json:"user"`
	Path    string  `json:"path"`
	At      float64 `json:"at_s"`
	Reason  string  `json:"reason"`
	Excused string  `json:"excused_by,omitempty"` // the fault it was due to; "": wrongly ended
}

// report adds up the run.
func (sk *soakRun) report(base, final resSample, samples []resSample) *soakResults {
	r := &soakResults{
		Machine:   machine(),
		GoVersion: runtime.Version(),
		Users:     len(sk.users),
		Rate:      sk.cfg.rate,
		Duration:  sk.cfg.duration.String(),
		Stray:     sk.stray,
		Baseline:  base,
		Final:     final,
		Resources: append(samples, final),
	}
	r.Slack.Goroutines, r.Slack.FDs, r.Slack.RSSMiB = sk.cfg.slack.goroutines, sk.cfg.slack.fds, sk.cfg.slack.rssMiB
	for _, s := range samples {
		r.Peak.RSSKiB = max(r.Peak.RSSKiB, s.RSSKiB)
		r.Peak.FDs = max(r.Peak.FDs, s.FDs)
		r.Peak.Goroutines = max(r.Peak.Goroutines, s.Goroutines)
		r.Peak.Up = max(r.Peak.Up, s.Up)
	}
	sk.mu.Lock()
	r.Injected = maps.Clone(sk.injected)
	r.Malformed = slices.Clone(sk.malformed)
	server := slices.Clone(sk.server)
	sk.mu.Unlock()
	for i, s := range sk.specs {
		r.Paths = append(r.Paths, &soakPath{Path: s.name, Excused: map[string]int64{}, Ends: map[string]int{}})
		_ = i
	}
	for _, u := range sk.users {
		u.mu.Lock()
		p := r.Paths[u.path]
		p.Users++
		p.Logins += u.logins
		p.LoginsFailed += u.failed
		if p.FirstFailure == "" {
			p.FirstFailure = u.firstE
		}
		for _, e := range u.ends {
			if e.Excused == "" {
				p.Wrong++
				r.WrongEnds = append(r.WrongEnds, e)
			} else {
				p.Ends[e.Excused]++
			}
		}
		u.mu.Unlock()
		sk.tallyPair(u, r.Paths, server)
	}
	slices.SortFunc(r.WrongEnds, func(a, b sessionEnd) int { return int((a.At - b.At) * 1000) })
	r.Problems = problems(r, sk.cfg.slack)
	r.Pass = len(r.Problems) == 0
	return r
}

// tallyPair counts the messages s sent to its partner at the partner's
// path, and those s sent at its own.
func (sk *soakRun) tallyPair(s *soakUser, paths []*soakPath, server []faultWindow) {
	sk.walkPair(s, server, func(r *soakUser, excused func(t0, t1 time.Duration) (string, bool)) {
		p := paths[r.path]
		pr := r.recv[s.id]
		for i, m := range s.sent {
			if m.failed {
				continue
			}
			paths[s.path].SentBy++
			p.Sent++
			if m.poison {
				p.Poison++
			}
			if pr.arrived(i) {
				p.Received++
				continue
			}
			if kind, ok := excused(m.at, m.at+sk.cfg.deliverBound); ok {
				p.Excused[kind]++
				continue
			}
			p.Lost++
			if m.poison {
				p.PoisonLost++
			}
		}
		if pr == nil {
			return
		}
		for _, a := range pr.anomalies {
			i := int(a.seq - 1)
			if i >= len(s.sent) {
				continue
			}
			if kind, ok := excused(s.sent[i].at, a.at); ok {
				p.Excused[kind]++
				continue
			}
			if a.duplicate {
				p.Duplicated++
			} else {
				p.Reordered++
			}
		}
	})
}

// walkPair calls fn with s's partner r locked and a function that says
// which fault, if any, excuses a loss to a message sent at t0 and seen
// (or due) at t1: a fault on s, on r or on the server in force at some
// time from -excuse-before ahead of t0 to t1. s's sent messages are the
// sender's own, done by now.
func (sk *soakRun) walkPair(s *soakUser, server []faultWindow, fn func(r *soakUser, excused func(t0, t1 time.Duration) (string, bool))) {
	r := s.partner
	if r == nil {
		return
	}
	s.mu.Lock()
	sf := slices.Clone(s.faults)
	s.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	fn(r, func(t0, t1 time.Duration) (string, bool) {
		return excusedBy(t0-sk.cfg.excuseBefore, t1, sf, r.faults, server)
	})
}

// arrived reports whether the message at index i arrived (pr may be nil).
func (pr *pairRecv) arrived(i int) bool {
	return pr != nil && i < len(pr.count) && pr.count[i] > 0
}

// problems lists why the soak failed, if it did.
func problems(r *soakResults, slack leakSlack) []string {
	var out []string
	for _, p := range r.Paths {
		if p.Lost+p.Duplicated+p.Reordered > 0 {
			out = append(out, fmt.Sprintf("%s: %d lost (%d of them poison), %d duplicated, %d reordered that should have been kept", p.Path, p.Lost, p.PoisonLost, p.Duplicated, p.Reordered))
		}
	}
	if n := len(r.WrongEnds); n > 0 {
		reasons := map[string]int{}
		for _, e := range r.WrongEnds {
			reasons[e.Path+": "+e.Reason]++
		}
		var list []string
		for _, k := range slices.Sorted(maps.Keys(reasons)) {
			list = append(list, fmt.Sprintf("%d × %s", reasons[k], k))
		}
		out = append(out, fmt.Sprintf("%d sessions ended with no fault on them or the server (%s)", n, strings.Join(list, ", ")))
	}
	bad := 0
	for _, e := range r.Malformed {
		if !e.OK && e.Excused == "" {
			bad++
		}
	}
	if bad > 0 {
		out = append(out, fmt.Sprintf("%d of %d malformed inputs got the wrong answer", bad, len(r.Malformed)))
	}
	if r.Stray > 0 {
		out = append(out, fmt.Sprintf("%d messages arrived from a user who never sent to their receiver", r.Stray))
	}
	b, f := r.Baseline, r.Final
	if f.Goroutines > b.Goroutines+slack.goroutines {
		out = append(out, fmt.Sprintf("goroutines did not come back: %d at the end, %d at the baseline (slack %d)", f.Goroutines, b.Goroutines, slack.goroutines))
	}
	if f.FDs > b.FDs+slack.fds {
		out = append(out, fmt.Sprintf("descriptors did not come back: %d at the end, %d at the baseline (slack %d)", f.FDs, b.FDs, slack.fds))
	}
	if d := float64(f.RSSKiB-b.RSSKiB) / 1024; d > slack.rssMiB {
		out = append(out, fmt.Sprintf("RSS did not come back: %.1f MiB at the end, %.1f MiB at the baseline (slack %.0f MiB)", float64(f.RSSKiB)/1024, float64(b.RSSKiB)/1024, slack.rssMiB))
	}
	return out
}

// writeSoakTables writes the results as markdown tables.
func writeSoakTables(w io.Writer, r *soakResults) {
	fmt.Fprintf(w, "%d users, %.0f msg/s target over every path at once for %s; faults injected: %s\n\n", r.Users, r.Rate, r.Duration, countList(r.Injected))
	fmt.Fprintln(w, "| path | users | logins (failed, tried again) | sent by | sent to | of them poison | received | lost | duplicated | reordered | excused | ends by fault | wrongly ended |")
	fmt.Fprintln(w, "|------|------:|-----------------------------:|--------:|--------:|---------------:|---------:|-----:|-----------:|----------:|---------|---------------|--------------:|")
	for _, p := range r.Paths {
		fmt.Fprintf(w, "| %s | %d | %d (%d) | %d | %d | %d | %d | %d | %d | %d | %s | %s | %d |\n",
			p.Path, p.Users, p.Logins, p.LoginsFailed, p.SentBy, p.Sent, p.Poison, p.Received, p.Lost, p.Duplicated, p.Reordered,
			countList(p.Excused), countList(p.Ends), p.Wrong)
	}
	for _, p := range r.Paths {
		if p.FirstFailure != "" {
			fmt.Fprintf(w, "\n%s: first failed login: %s\n", p.Path, p.FirstFailure)
		}
	}
	if len(r.Malformed) > 0 {
		type row struct{ path, kind, want string }
		counts := map[row][2]int{}
		got := map[row]string{}
		for _, e := range r.Malformed {
			k := row{e.Path, e.Kind, e.Want}
			c := counts[k]
			c[0]++
			switch {
			case e.OK:
				c[1]++
			case got[k] == "" && e.Excused != "":
				got[k] = e.Got + " (excused: " + e.Excused + ")"
			case got[k] == "" || strings.HasSuffix(got[k], ")"):
				got[k] = e.Got
			}
			counts[k] = c
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w, "| path | malformed input | answer owed | sent | answered right | first wrong answer |")
		fmt.Fprintln(w, "|------|-----------------|-------------|-----:|---------------:|--------------------|")
		keys := slices.SortedFunc(maps.Keys(counts), func(a, b row) int { return strings.Compare(a.path+a.kind, b.path+b.kind) })
		for _, k := range keys {
			fmt.Fprintf(w, "| %s | %s | %s | %d | %d | %s |\n", k.path, k.kind, k.want, counts[k][0], counts[k][1], got[k])
		}
	}
	if len(r.WrongEnds) > 0 {
		fmt.Fprintf(w, "\nSessions wrongly ended (no fault on them or the server): %d\n\n", len(r.WrongEnds))
		fmt.Fprintln(w, "| at | user | path | reason |")
		fmt.Fprintln(w, "|---:|------|------|--------|")
		for i, e := range r.WrongEnds {
			if i == 40 {
				fmt.Fprintf(w, "| | … %d more | | |\n", len(r.WrongEnds)-i)
				break
			}
			fmt.Fprintf(w, "| %.1f s | %s | %s | %s |\n", e.At, e.User, e.Path, e.Reason)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| t | phase | users logged in | bridge RSS | descriptors | goroutines |")
	fmt.Fprintln(w, "|--:|-------|----------------:|-----------:|------------:|-----------:|")
	// At most about 40 rows: every k-th reading, and always the first
	// and last ones of each phase.
	k := max(1, len(r.Resources)/40)
	for i, s := range r.Resources {
		edge := i == 0 || i == len(r.Resources)-1 || r.Resources[i-1].Phase != s.Phase || r.Resources[i+1].Phase != s.Phase
		if i%k != 0 && !edge {
			continue
		}
		fmt.Fprintf(w, "| %.0f s | %s | %d | %.1f MiB | %d | %d |\n", s.T, s.Phase, s.Up, float64(s.RSSKiB)/1024, s.FDs, s.Goroutines)
	}
	fmt.Fprintf(w, "\nbridge: baseline %s; peak RSS %.1f MiB, %d descriptors, %d goroutines; at the end %s (slack: %d goroutines, %d descriptors, %.0f MiB)\n",
		r.Baseline, float64(r.Peak.RSSKiB)/1024, r.Peak.FDs, r.Peak.Goroutines, r.Final, r.Slack.Goroutines, r.Slack.FDs, r.Slack.RSSMiB)
	if r.Pass {
		fmt.Fprintln(w, "\nPASS")
		return
	}
	fmt.Fprintln(w, "\nFAIL:")
	for _, p := range r.Problems {
		fmt.Fprintln(w, "- "+p)
	}
	if r.Leftover != "" {
		fmt.Fprintf(w, "\nThe bridge's goroutines at the end:\n\n```\n%s\n```\n", r.Leftover)
	}
}

// countList writes counts by name as "a 3, b 1", or "–".
func countList[V int | int64](m map[string]V) string {
	if len(m) == 0 {
		return "–"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// sent is the messages sent over every path.
func (r *soakResults) sent() int64 {
	var n int64
	for _, p := range r.Paths {
		n += p.Sent
	}
	return n
}
