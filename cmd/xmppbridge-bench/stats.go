package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
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
	ViaBridge   bool      `json:"via_bridge"`

	SetupCPU *setupCPU   `json:"setup_cpu,omitempty"` // -each: this path's sessions set up alone
	Phase    *stepResult `json:"phase,omitempty"`     // -each: this path's own message phase
	Ramp     *rampResult `json:"ramp,omitempty"`      // -ramp: this path's saturation search
}

// setupCPU is the CPU time the bridge and Prosody spent while one path's
// sessions were set up with no other path's (-each), from the first
// connection until setupSettle after the last login, per session
// established.
//
// On bridge-ws and bridge-bosh the browser does SASL and the bridge relays
// it. On bridge-json the bridge logs in upstream itself: its figure
// includes the SASL client's work (SCRAM: PBKDF2 over the server's
// iteration count), the login and session frames, and translating initial
// presence and its echo between JSON and XML. Prosody's login work is in
// Prosody's figure on every path. On a path that does not cross the bridge,
// the bridge's figure is its background over the same time: the noise floor.
type setupCPU struct {
	Seconds             float64 `json:"wall_s"` // first connection to last login
	BridgeUsPerSession  float64 `json:"bridge_cpu_us_per_session"`
	ProsodyUsPerSession float64 `json:"prosody_cpu_us_per_session"`

	bridgeNs, prosodyNs int64
}

func (sc *setupCPU) derive(established int) {
	if established > 0 {
		sc.BridgeUsPerSession = float64(sc.bridgeNs) / 1e3 / float64(established)
		sc.ProsodyUsPerSession = float64(sc.prosodyNs) / 1e3 / float64(established)
	}
}

// stepResult is one message phase on one path alone: a -each phase or a
// -ramp step.
type stepResult struct {
	Rate              float64   `json:"offered_per_s"`
	SentRate          float64   `json:"sent_per_s"`
	Delivered         float64   `json:"delivered_per_s"` // received by the end of the send phase ÷ its length
	Messages          int64     `json:"messages_sent"`
	Lost              int64     `json:"messages_lost"` // not received by the end of the drain
	Reordered         int64     `json:"messages_reordered"`
	Dead              int       `json:"sessions_ended"`
	Latency           durations `json:"latency"`
	BridgeCPUPercent  float64   `json:"bridge_cpu_percent"` // of one core, from the start to the end of the drain
	BridgeUsPerMsg    float64   `json:"bridge_cpu_us_per_message"`
	ProsodyCPUPercent float64   `json:"prosody_cpu_percent"`
	ProsodyUsPerMsg   float64   `json:"prosody_cpu_us_per_message"`
	ToolCPUPercent    float64   `json:"load_tool_cpu_percent"` // this process's own
	OtherCPUPercent   float64   `json:"other_cpu_percent"`     // every other process on the machine, of one core
	Pass              bool      `json:"pass"`
	Why               string    `json:"why,omitempty"`
	Retry             bool      `json:"retry,omitempty"`     // the same rate again after a failure
	Disturbed         bool      `json:"disturbed,omitempty"` // failed while other processes were busy: run again

	measure stepMeasure
}

// verdict is a one-line account of a step, for progress output.
func (st *stepResult) verdict() string {
	v := "pass"
	if !st.Pass {
		v = "FAIL (" + st.Why + ")"
	}
	return fmt.Sprintf("sent %.0f/s delivered %.0f/s p50 %s ms p99 %s ms lost %d, CPU: bridge %.0f %% Prosody %.0f %% load tool %.0f %% others %.0f %%: %s",
		st.SentRate, st.Delivered, fms(st.Latency.P50), fms(st.Latency.P99), st.Lost, st.BridgeCPUPercent, st.ProsodyCPUPercent, st.ToolCPUPercent, st.OtherCPUPercent, v)
}

// rampResult is one path's saturation search.
type rampResult struct {
	Saturation float64       `json:"saturation_per_s"` // highest rate that passed; 0: none did
	AtMax      bool          `json:"at_ramp_max"`      // every step passed up to -ramp-max
	CutShort   bool          `json:"cut_short"`        // -timeout ended the search
	Steps      []*stepResult `json:"steps"`
}

// best is the step that passed at the saturation rate, or nil.
func (rr *rampResult) best() *stepResult {
	for _, st := range rr.Steps {
		if st.Pass && st.Rate == rr.Saturation {
			return st
		}
	}
	return nil
}

// firstFail is the step at the lowest rate that failed for good (its
// retries too), or nil.
func (rr *rampResult) firstFail() *stepResult {
	var f *stepResult
	passed := map[float64]bool{}
	for _, st := range rr.Steps {
		passed[st.Rate] = passed[st.Rate] || st.Pass
	}
	for _, st := range rr.Steps {
		if !passed[st.Rate] && (f == nil || st.Rate < f.Rate) {
			f = st
		}
	}
	return f
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
	CPUPerSetupUs     float64    `json:"cpu_us_per_session_setup"` // Before to Bound, per session: see derive
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
		// For the bridge, Sessions are those on bridge paths only: direct
		// paths set up alongside them do not touch its process, so in a
		// mixed run too this is the bridge's work per bridged session.
		// Bridge-json sessions bring the bridge's own SASL client work
		// into it (see setupCPU).
		p.CPUPerSetupUs = float64(p.Bound.CPUNs-p.Before.CPUNs) / 1e3 / float64(p.Sessions)
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
	Mode      string        `json:"mode"` // mixed, each or ramp
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
	switch r.Mode {
	case "each":
		fmt.Fprintf(w, "%d sessions; one path at a time, %.0f msg/s for %s each\n\n", r.Sessions, r.Rate, r.Duration)
	case "ramp":
		fmt.Fprintf(w, "%d sessions; saturation search one path at a time, steps of %s\n\n", r.Sessions, r.Duration)
	default:
		fmt.Fprintf(w, "%d sessions, %.0f msg/s target (%.0f achieved) over every path at once for %s\n\n", r.Sessions, r.Rate, r.Achieved, r.Duration)
	}
	fmt.Fprintln(w, "| path | established / held | setup p50 / p99 | latency p50 | p99 | p99.9 | max | sent | lost | reordered |")
	fmt.Fprintln(w, "|------|-------------------:|----------------:|------------:|----:|------:|----:|-----:|-----:|----------:|")
	for _, p := range r.Paths {
		fmt.Fprintf(w, "| %s | %d / %d of %d | %s / %s ms | %s ms | %s ms | %s ms | %s ms | %d | %d | %d |\n",
			p.Path, p.Established, p.Held, p.Sessions, fms(p.Setup.P50), fms(p.Setup.P99),
			fms(p.Latency.P50), fms(p.Latency.P99), fms(p.Latency.P999), fms(p.Latency.Max),
			p.Sent, p.Lost, p.Reordered)
	}
	for _, p := range r.Paths {
		if p.FirstError != "" {
			fmt.Fprintf(w, "\n%s: first error: %s\n", p.Path, p.FirstError)
		}
	}
	switch r.Mode {
	case "each":
		writeSetupTable(w, r)
		writeEachTable(w, r)
	case "ramp":
		writeRampTables(w, r)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| process | RSS before → held | per session | CPU per session set up | CPU while idle | CPU in message phase | per message |")
	fmt.Fprintln(w, "|---------|------------------:|------------:|-----------------------:|---------------:|---------------------:|------------:|")
	for _, pr := range []struct {
		name string
		p    *procResult
	}{{"bridge", r.Bridge}, {"prosody", r.Prosody}} {
		if pr.p == nil || pr.p.PID == 0 {
			continue
		}
		phaseCPU, perMsg := fmt.Sprintf("%.0f ms", pr.p.CPUMessagePhaseMs), fmt.Sprintf("%.1f µs", pr.p.CPUPerMessageUs)
		if r.Mode != "mixed" {
			// Over phases of paths it does not carry too: see the
			// per-path tables above.
			phaseCPU, perMsg = "–", "–"
		}
		fmt.Fprintf(w, "| %s (%d sessions, %d messages) | %.1f → %.1f MiB | %.1f KiB | %.0f µs | %.1f %% | %s | %s |\n",
			pr.name, pr.p.Sessions, pr.p.Messages, float64(pr.p.Before.RSSKiB)/1024, float64(pr.p.Held.RSSKiB)/1024,
			pr.p.KiBPerSession, pr.p.CPUPerSetupUs, pr.p.CPUIdlePercent, phaseCPU, perMsg)
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

// writeSetupTable writes the CPU time of the bridge and Prosody while each
// path's sessions were set up alone.
func writeSetupTable(w io.Writer, r *results) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| path | setup time | sessions/s | bridge CPU per session set up | Prosody CPU per session set up |")
	fmt.Fprintln(w, "|------|-----------:|-----------:|------------------------------:|-------------------------------:|")
	direct, json := false, false
	for _, p := range r.Paths {
		sc := p.SetupCPU
		if sc == nil {
			continue
		}
		rate := 0.0
		if sc.Seconds > 0 {
			rate = float64(p.Established) / sc.Seconds
		}
		bridge := fmt.Sprintf("%.0f µs", sc.BridgeUsPerSession)
		if !p.ViaBridge {
			bridge = "(" + bridge + ")"
			direct = true
		}
		json = json || p.Path == "bridge-json"
		fmt.Fprintf(w, "| %s | %.2f s | %.0f | %s | %.0f µs |\n", p.Path, sc.Seconds, rate, bridge, sc.ProsodyUsPerSession)
	}
	if direct {
		fmt.Fprintln(w, "\n(In parentheses: the bridge's background while a path that does not cross it was set up.)")
	}
	if json {
		fmt.Fprintln(w, "\nbridge-json: the bridge logs in upstream itself, so its figure includes the SASL client's work (SCRAM) that the browser does on the other bridge paths.")
	}
}

// writeEachTable writes the CPU time of the bridge and Prosody in each
// path's own message phase.
func writeEachTable(w io.Writer, r *results) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| path | sent msg/s | bridge CPU | per message | per relayed stanza | Prosody CPU | per message | load tool CPU | other CPU |")
	fmt.Fprintln(w, "|------|-----------:|-----------:|------------:|-------------------:|------------:|------------:|--------------:|----------:|")
	for _, p := range r.Paths {
		st := p.Phase
		if st == nil {
			continue
		}
		// A message crosses the bridge twice: in from the sender's
		// browser and out to the receiver's.
		stanza := "–"
		if p.ViaBridge {
			stanza = fmt.Sprintf("%.1f µs", st.BridgeUsPerMsg/2)
		}
		fmt.Fprintf(w, "| %s | %.0f | %.1f %% | %.1f µs | %s | %.1f %% | %.1f µs | %.0f %% | %.0f %% |\n",
			p.Path, st.SentRate, st.BridgeCPUPercent, st.BridgeUsPerMsg, stanza, st.ProsodyCPUPercent, st.ProsodyUsPerMsg, st.ToolCPUPercent, st.OtherCPUPercent)
	}
}

// writeRampTables writes every step of every path's saturation search,
// then the saturation rates side by side with the bridge's offload ratios.
func writeRampTables(w io.Writer, r *results) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| path | offered msg/s | sent | delivered | p50 | p99 | lost | bridge CPU | Prosody CPU | load tool CPU | other CPU | bridge µs/msg | Prosody µs/msg | verdict |")
	fmt.Fprintln(w, "|------|-------------:|-----:|----------:|----:|----:|-----:|-----------:|------------:|--------------:|----------:|--------------:|---------------:|---------|")
	for _, p := range r.Paths {
		if p.Ramp == nil {
			continue
		}
		for _, st := range p.Ramp.Steps {
			v := "pass"
			if !st.Pass {
				v = "fail: " + st.Why
			}
			if st.Disturbed {
				v += ", disturbed"
			}
			if st.Retry {
				v += " (again)"
			}
			fmt.Fprintf(w, "| %s | %.0f | %.0f | %.0f | %s ms | %s ms | %d | %.0f %% | %.0f %% | %.0f %% | %.0f %% | %.1f | %.1f | %s |\n",
				p.Path, st.Rate, st.SentRate, st.Delivered, fms(st.Latency.P50), fms(st.Latency.P99), st.Lost,
				st.BridgeCPUPercent, st.ProsodyCPUPercent, st.ToolCPUPercent, st.OtherCPUPercent, st.BridgeUsPerMsg, st.ProsodyUsPerMsg, v)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| path | saturation msg/s | p99 there | bridge CPU there | Prosody CPU there | first failed step |")
	fmt.Fprintln(w, "|------|-----------------:|----------:|-----------------:|------------------:|-------------------|")
	sat := map[string]float64{}
	for _, p := range r.Paths {
		if p.Ramp == nil {
			continue
		}
		rate := fmt.Sprintf("%.0f", p.Ramp.Saturation)
		if p.Ramp.AtMax {
			rate = "≥ " + rate
		}
		if p.Ramp.CutShort {
			rate += " (search cut short by -timeout)"
		}
		p99, bcpu, pcpu := "–", "–", "–"
		if b := p.Ramp.best(); b != nil {
			p99 = fms(b.Latency.P99) + " ms"
			bcpu = fmt.Sprintf("%.0f %%", b.BridgeCPUPercent)
			pcpu = fmt.Sprintf("%.0f %%", b.ProsodyCPUPercent)
		}
		fail := "none"
		if f := p.Ramp.firstFail(); f != nil {
			fail = fmt.Sprintf("%.0f/s: %s", f.Rate, f.Why)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", p.Path, rate, p99, bcpu, pcpu, fail)
		sat[p.Path] = p.Ramp.Saturation
	}
	fmt.Fprintln(w)
	for _, pair := range [][2]string{{"bridge-ws", "prosody-ws"}, {"bridge-bosh", "prosody-bosh"}, {"bridge-json", "prosody-ws"}} {
		b, okb := sat[pair[0]]
		d, okd := sat[pair[1]]
		if okb && okd && d > 0 {
			fmt.Fprintf(w, "%s / %s at saturation: %.2f×\n", pair[0], pair[1], b/d)
		}
	}
}

// publish sets *command to this process's command line and writes the
// results r: as JSON to the file jsonFile ("": none), and as tables to
// stdout.
func publish(command *string, r any, jsonFile string, tables func(io.Writer)) error {
	*command = strings.Join(os.Args, " ")
	if jsonFile != "" {
		b, _ := json.MarshalIndent(r, "", "  ")
		if err := os.WriteFile(jsonFile, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	tables(os.Stdout)
	return nil
}
