package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// quantile returns the q-quantile (0 ≤ q ≤ 1) of sorted by the
// nearest-rank method, or 0 for no samples.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	k := int(q*float64(len(sorted)) + 0.999999999)
	k = min(max(k, 1), len(sorted))
	return sorted[k-1]
}

// durations summarises a set of times in milliseconds, for JSON.
type durations struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p99_9_ms"`
	Max  float64 `json:"max_ms"`
}

func summarise(d []time.Duration) durations {
	slices.Sort(d)
	ms := func(x time.Duration) float64 { return float64(x.Microseconds()) / 1000 }
	s := durations{N: len(d), P50: ms(quantile(d, 0.5)), P99: ms(quantile(d, 0.99)), P999: ms(quantile(d, 0.999))}
	if len(d) > 0 {
		s.Max = ms(d[len(d)-1])
	}
	return s
}

// pathResult is what the load test measured on one path.
type pathResult struct {
	Path        string    `json:"path"`
	Sessions    int       `json:"sessions"`    // attempted
	Established int       `json:"established"` // bound and presence sent
	Held        int       `json:"held"`        // still open at the end of the message phase
	SetupFailed int       `json:"setup_failed"`
	Setup       durations `json:"setup"` // connect → bound
	Sent        int64     `json:"messages_sent"`
	Received    int64     `json:"messages_received"`
	Lost        int64     `json:"messages_lost"`
	Reordered   int64     `json:"messages_reordered"`
	Latency     durations `json:"latency"` // send → receive, same process
	FirstError  string    `json:"first_error,omitempty"`
}

// procResult is what /proc says about one server process over the run.
type procResult struct {
	PID               int        `json:"pid"`
	Before            procSample `json:"before"`   // before any session
	Bound             procSample `json:"bound"`    // every session set up
	Held              procSample `json:"held"`     // sessions held idle, before messages
	After             procSample `json:"after"`    // after the message phase
	Sessions          int        `json:"sessions"` // sessions it held
	Messages          int64      `json:"messages"` // messages it relayed in the message phase
	KiBPerSession     float64    `json:"kib_per_session"`
	CPUPerMessageUs   float64    `json:"cpu_us_per_message"`
	CPUMessagePhaseMs float64    `json:"cpu_ms_message_phase"`
	CPUIdlePercent    float64    `json:"cpu_idle_percent"` // of one core, while the sessions are held idle
}

func (p *procResult) derive(hold time.Duration) {
	if p.PID == 0 {
		return
	}
	if hold > 0 {
		p.CPUIdlePercent = float64(p.Held.CPUNs-p.Bound.CPUNs) / float64(hold) * 100
	}
	if p.Sessions > 0 {
		p.KiBPerSession = float64(p.Held.RSSKiB-p.Before.RSSKiB) / float64(p.Sessions)
	}
	d := p.After.CPUNs - p.Held.CPUNs
	p.CPUMessagePhaseMs = float64(d) / 1e6
	if p.Messages > 0 {
		p.CPUPerMessageUs = float64(d) / 1e3 / float64(p.Messages)
	}
}

// results is the whole JSON document of a load run.
type results struct {
	Command   string        `json:"command"`
	Started   time.Time     `json:"started"`
	Machine   string        `json:"machine"`
	Sessions  int           `json:"sessions"`
	Rate      float64       `json:"target_rate_per_s"`
	Achieved  float64       `json:"achieved_rate_per_s"`
	Duration  string        `json:"message_phase"`
	Paths     []*pathResult `json:"paths"`
	Bridge    *procResult   `json:"bridge,omitempty"`
	Prosody   *procResult   `json:"prosody,omitempty"`
	GoVersion string        `json:"go"`
}

// writeTable writes the results as markdown tables.
func writeTable(w io.Writer, r *results) {
	fmt.Fprintf(w, "%d sessions, %.0f msg/s target (%.0f achieved) for %s\n\n", r.Sessions, r.Rate, r.Achieved, r.Duration)
	fmt.Fprintln(w, "| path | established / held | setup p50 / p99 | latency p50 | p99 | p99.9 | max | sent | lost | reordered |")
	fmt.Fprintln(w, "|------|-------------------:|----------------:|------------:|----:|------:|----:|-----:|-----:|----------:|")
	for _, p := range r.Paths {
		fmt.Fprintf(w, "| %s | %d / %d of %d | %s / %s ms | %s ms | %s ms | %s ms | %s ms | %d | %d | %d |\n",
			p.Path, p.Established, p.Held, p.Sessions, fms(p.Setup.P50), fms(p.Setup.P99),
			fms(p.Latency.P50), fms(p.Latency.P99), fms(p.Latency.P999), fms(p.Latency.Max),
			p.Sent, p.Lost, p.Reordered)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| process | RSS before → held | per session | CPU while idle | CPU in message phase | per message |")
	fmt.Fprintln(w, "|---------|------------------:|------------:|---------------:|---------------------:|------------:|")
	for _, pr := range []struct {
		name string
		p    *procResult
	}{{"bridge", r.Bridge}, {"prosody", r.Prosody}} {
		if pr.p == nil || pr.p.PID == 0 {
			continue
		}
		fmt.Fprintf(w, "| %s (%d sessions, %d messages) | %.1f → %.1f MiB | %.1f KiB | %.1f %% | %.0f ms | %.1f µs |\n",
			pr.name, pr.p.Sessions, pr.p.Messages, float64(pr.p.Before.RSSKiB)/1024, float64(pr.p.Held.RSSKiB)/1024,
			pr.p.KiBPerSession, pr.p.CPUIdlePercent, pr.p.CPUMessagePhaseMs, pr.p.CPUPerMessageUs)
	}
}

// fms formats milliseconds with a precision that suits their size.
func fms(ms float64) string {
	switch {
	case ms < 10:
		return fmt.Sprintf("%.2f", ms)
	case ms < 100:
		return fmt.Sprintf("%.1f", ms)
	default:
		return strings.TrimSuffix(fmt.Sprintf("%.0f", ms), ".")
	}
}
