package main

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func TestJudgeStep(t *testing.T) {
	good := stepMeasure{offered: 1000, sent: 5000, delivered: 4990, received: 5000, p99: 20 * time.Millisecond, length: 5 * time.Second}
	tests := []struct {
		name   string
		change func(*stepMeasure)
		ok     bool
		why    string
	}{
		{"sustained", func(*stepMeasure) {}, true, ""},
		{"p99 at the bound", func(m *stepMeasure) { m.p99 = time.Second }, true, ""},
		{"p99 over the bound", func(m *stepMeasure) { m.p99 = 1001 * time.Millisecond }, false, "p99"},
		{"one lost", func(m *stepMeasure) { m.received = 4999 }, false, "1 lost"},
		{"reordered", func(m *stepMeasure) { m.reordered = 2 }, false, "2 reordered"},
		{"session ended", func(m *stepMeasure) { m.dead = 1 }, false, "1 sessions ended"},
		{"senders at 95 %", func(m *stepMeasure) { m.sent, m.received, m.delivered = 4750, 4750, 4750 }, true, ""},
		{"senders behind", func(m *stepMeasure) { m.sent, m.received, m.delivered = 4700, 4700, 4700 }, false, "sent only 940/s"},
		{"receivers behind", func(m *stepMeasure) { m.delivered = 4400 }, false, "delivered only 880/s"},
		{"no length", func(m *stepMeasure) { m.length = 0 }, false, "sent only"},
		{"late ones arrived in the drain", func(m *stepMeasure) { m.delivered = 4600 }, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := good
			tt.change(&m)
			ok, why := judgeStep(m, time.Second)
			if ok != tt.ok || !strings.HasPrefix(why, tt.why) {
				t.Errorf("judgeStep = %v, %q; want %v, %q…", ok, why, tt.ok, tt.why)
			}
		})
	}
}

// TestRamp runs the search against paths that sustain every rate up to a
// capacity and no more, and checks the rates it tries and what it finds.
func TestRamp(t *testing.T) {
	cfg := rampConfig{start: 1000, factor: 2, max: 16000, refine: 2}
	tests := []struct {
		name     string
		cfg      rampConfig
		capacity float64
		tried    string
		sat      float64
		atMax    bool
	}{
		{"fails at once, passes a step down", cfg, 600, "1000 500 707 595", 595, false},
		{"fails at once and three steps down", cfg, 100, "1000 500 250 125", 0, false},
		{"fails at the second step", cfg, 1500, "1000 2000 1414 1682", 1414, false},
		{"between two steps", cfg, 5000, "1000 2000 4000 8000 5657 4757", 4757, false},
		{"passes everything", cfg, 1e6, "1000 2000 4000 8000 16000", 16000, true},
		{"no refining", rampConfig{start: 1000, factor: 2, max: 16000}, 5000, "1000 2000 4000 8000", 4000, false},
		{"max between steps", rampConfig{start: 1000, factor: 2, max: 5000, refine: 2}, 1e6, "1000 2000 4000", 4000, true},
		{"refine stops when close", rampConfig{start: 1000, factor: 1.01, max: 1010, refine: 5}, 1005, "1000 1010", 1000, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &ramp{cfg: tt.cfg}
			var tried []string
			for k := 0; k < 50; k++ {
				rate, ok := r.next()
				if !ok {
					break
				}
				tried = append(tried, fmt.Sprintf("%.0f", rate))
				r.record(rate, rate <= tt.capacity)
			}
			sat, atMax := r.saturation()
			if got := strings.Join(tried, " "); got != tt.tried {
				t.Errorf("tried %s, want %s", got, tt.tried)
			}
			if math.Abs(sat-tt.sat) > 1 || atMax != tt.atMax {
				t.Errorf("saturation %.0f (at max %v), want %.0f (%v)", sat, atMax, tt.sat, tt.atMax)
			}
		})
	}
}

func TestRampStopped(t *testing.T) {
	r := &ramp{cfg: rampConfig{start: 1000, factor: 2, max: 16000, refine: 2}}
	rate, _ := r.next()
	r.record(rate, true)
	r.stopped = true
	if rate, ok := r.next(); ok {
		t.Errorf("next after stop = %.0f, want none", rate)
	}
	if sat, _ := r.saturation(); sat != 1000 {
		t.Errorf("saturation %.0f, want 1000", sat)
	}
}

func TestUsable(t *testing.T) {
	tests := []struct {
		name string
		m    stepMeasure
		want bool
	}{
		{"all arrived", stepMeasure{sent: 10, received: 10}, true},
		{"late ones from before", stepMeasure{sent: 10, received: 11}, true},
		{"still under way", stepMeasure{sent: 10, received: 9}, false},
		{"a session ended", stepMeasure{sent: 10, received: 10, dead: 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := usable(tt.m); got != tt.want {
				t.Errorf("usable = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	cfg := rampConfig{retry: 1, others: 25, disturbed: 2}
	ok := stepMeasure{sent: 10, received: 10}
	type try struct {
		pass   bool
		others float64
		m      stepMeasure
	}
	tests := []struct {
		name      string
		tries     []try
		again     string // for each try: a (again), d (again, disturbed), - (done)
		disturbed int
	}{
		{"pass", []try{{true, 0, ok}}, "-", 0},
		{"pass while others are busy", []try{{true, 90, ok}}, "-", 0},
		{"fail, fail", []try{{false, 0, ok}, {false, 0, ok}}, "a-", 0},
		{"fail, pass", []try{{false, 0, ok}, {true, 0, ok}}, "a-", 0},
		{"disturbed twice, then plain failures", []try{{false, 80, ok}, {false, 80, ok}, {false, 80, ok}, {false, 0, ok}}, "dda-", 2},
		{"disturbed, then pass", []try{{false, 30, ok}, {true, 0, ok}}, "d-", 1},
		{"others at the limit are not disturbing", []try{{false, 25, ok}, {false, 25, ok}}, "a-", 0},
		{"messages still under way: never again", []try{{false, 90, stepMeasure{sent: 10, received: 9}}}, "-", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r retries
			got := ""
			for _, tr := range tt.tries {
				st := &stepResult{Pass: tr.pass, OtherCPUPercent: tr.others, measure: tr.m}
				switch {
				case !r.next(st, cfg):
					got += "-"
				case st.Disturbed:
					got += "d"
				default:
					got += "a"
				}
				if got[len(got)-1] == '-' {
					break
				}
			}
			if got != tt.again || r.disturbed != tt.disturbed {
				t.Errorf("got %q with %d disturbed, want %q with %d", got, r.disturbed, tt.again, tt.disturbed)
			}
		})
	}
}
