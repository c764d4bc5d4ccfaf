package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"time"
)

// The saturation search (load -ramp) runs one path at a time, in steps of
// rising message rate, and keeps the highest rate the path sustains: every
// message delivered, in order, with p99 latency under a bound, the receivers
// keeping up with the senders and the senders with the target. Once a step
// fails it refines between the last rate that passed and the first that
// failed by geometric bisection. If the first step fails already, it steps
// down instead, at most maxDown times, until one passes.

// rampConfig is the search's flags.
type rampConfig struct {
	start  float64       // first step's rate, messages per second
	factor float64       // each step's rate over the one before, while all pass
	max    float64       // no step above this
	refine int           // bisection steps after the first failure
	step   time.Duration // length of a step's message phase
	bound  time.Duration // p99 latency above this fails a step
	pause  time.Duration // between steps, after the drain
	retry  int           // times a failed step is run again before it counts
	// A failed step while other processes kept more than others percent
	// of a core busy is run again, up to disturbed times more.
	others    float64
	disturbed int
}

// stepMeasure is what one step measured, before it is judged.
type stepMeasure struct {
	offered   float64 // target rate
	sent      int64   // messages sent in the step
	delivered int64   // of them, received by the end of the step's send phase
	received  int64   // of them, received by the end of the drain
	reordered int64
	dead      int           // sessions whose stream ended during the step
	p99       time.Duration // latency of the messages received
	length    time.Duration // of the send phase
}

// Tolerances of judgeStep: the senders must reach 95 % of the target, and
// by the end of the send phase 90 % of what was sent must have arrived
// (at a p99 near the bound of a second, a step of a few seconds still has a
// tenth of it under way).
const (
	minSentFraction      = 0.95
	minDeliveredFraction = 0.90
)

// judgeStep says whether a step sustained its rate, and if not, why.
func judgeStep(m stepMeasure, bound time.Duration) (ok bool, why string) {
	secs := m.length.Seconds()
	switch {
	case m.dead > 0:
		return false, fmt.Sprintf("%d sessions ended", m.dead)
	case m.received < m.sent:
		return false, fmt.Sprintf("%d lost", m.sent-m.received)
	case m.reordered > 0:
		return false, fmt.Sprintf("%d reordered", m.reordered)
	case secs <= 0 || float64(m.sent)/secs < minSentFraction*m.offered:
		return false, fmt.Sprintf("sent only %.0f/s", float64(m.sent)/max(secs, 1e-9))
	case float64(m.delivered) < minDeliveredFraction*float64(m.sent):
		return false, fmt.Sprintf("delivered only %.0f/s", float64(m.delivered)/secs)
	case m.p99 > bound:
		return false, fmt.Sprintf("p99 %s", fms(float64(m.p99.Microseconds())/1000)+" ms")
	}
	return true, ""
}

// maxDown bounds the steps below the start rate.
const maxDown = 3

// ramp chooses the rate of each step from the results of the steps before.
type ramp struct {
	cfg     rampConfig
	pass    float64 // highest rate that passed; 0: none yet
	fail    float64 // lowest rate that failed; 0: none yet
	refined int
	stopped bool // a step left the path unusable for more steps
}

// next returns the next step's rate, or false when the search is over.
func (r *ramp) next() (float64, bool) {
	switch {
	case r.stopped:
		return 0, false
	case r.fail == 0:
		rate := r.cfg.start
		if r.pass > 0 {
			rate = r.pass * r.cfg.factor
		}
		if rate > r.cfg.max*(1+1e-9) {
			return 0, false
		}
		return rate, true
	case r.pass == 0:
		rate := r.fail / r.cfg.factor
		if rate < r.cfg.start/math.Pow(r.cfg.factor, maxDown)*(1-1e-9) {
			return 0, false
		}
		return rate, true
	case r.refined >= r.cfg.refine:
		return 0, false
	}
	mid := math.Sqrt(r.pass * r.fail)
	// Closer than 2 % is closer than a step can tell apart.
	if r.fail/r.pass < 1.02 {
		return 0, false
	}
	return mid, true
}

// record takes a step's verdict.
func (r *ramp) record(rate float64, ok bool) {
	if r.fail != 0 && r.pass != 0 {
		r.refined++
	}
	if ok {
		r.pass = max(r.pass, rate)
	} else if r.fail == 0 || rate < r.fail {
		r.fail = rate
	}
}

// saturation is the search's answer: the highest rate that passed, and
// whether the search ended at its ceiling rather than at a failure.
func (r *ramp) saturation() (rate float64, atMax bool) {
	return r.pass, r.fail == 0 && r.pass > 0
}

// usable reports whether the path can take another step after one that
// measured m: not if sessions ended or messages are still under way, which
// a later step would count as its own.
func usable(m stepMeasure) bool {
	return m.dead == 0 && m.received >= m.sent
}

// runRamp searches one path's saturation rate with its sessions.
func (rn *run) runRamp(ctx context.Context, name string, sess []*session) *rampResult {
	rr := &rampResult{}
	rp := &ramp{cfg: rn.cfg.ramp}
	for ctx.Err() == nil {
		rate, ok := rp.next()
		if !ok {
			break
		}
		var st *stepResult
		var tries retries
		for {
			st = rn.step(ctx, sess, rate, rn.cfg.ramp.step)
			if ctx.Err() != nil {
				// Cut off by -timeout: the step measured nothing.
				rr.CutShort = true
				rr.Saturation, rr.AtMax = rp.saturation()
				return rr
			}
			st.Retry = tries.again+tries.disturbed > 0
			rr.Steps = append(rr.Steps, st)
			fmt.Fprintf(os.Stderr, "ramp     %-12s %6.0f/s: %s\n", name, rate, st.verdict())
			time.Sleep(rn.cfg.ramp.pause)
			if ctx.Err() != nil || !tries.next(st, rn.cfg.ramp) {
				break
			}
			if st.Disturbed && !rn.waitQuiet(ctx, rn.cfg.ramp.others, 30*time.Second) {
				// The machine stays busy: running the step again would
				// only measure that.
				break
			}
		}
		rp.record(rate, st.Pass)
		if !usable(st.measure) {
			rp.stopped = true
		}
	}
	rr.Saturation, rr.AtMax = rp.saturation()
	return rr
}

// retries counts the times one rate has been run again.
type retries struct{ again, disturbed int }

// next decides whether the step st, which just ran, is run again at the
// same rate. A failed step during which other processes kept more than
// cfg.others percent of a core busy is marked disturbed and run again, up
// to cfg.disturbed times, without using up its cfg.retry ordinary retries:
// on a machine shared with other work it says nothing about the path. A
// step that cannot be followed by another (usable) is never run again.
func (r *retries) next(st *stepResult, cfg rampConfig) bool {
	switch {
	case st.Pass || !usable(st.measure):
		return false
	case st.OtherCPUPercent > cfg.others && r.disturbed < cfg.disturbed:
		st.Disturbed = true
		r.disturbed++
		return true
	case r.again < cfg.retry:
		r.again++
		return true
	}
	return false
}

// waitQuiet waits until, over a second, processes other than the three
// under test keep less than others percent of a core busy, at most bound,
// and reports whether they did.
func (rn *run) waitQuiet(ctx context.Context, others float64, bound time.Duration) bool {
	end := time.Now().Add(bound)
	for ctx.Err() == nil && time.Now().Before(end) {
		b0, _ := sample(rn.cfg.bridgePID)
		p0, _ := sample(rn.cfg.prosodyPID)
		t0, _ := sample(os.Getpid())
		m0, err := machineBusy()
		if err != nil {
			return false
		}
		start := time.Now()
		time.Sleep(time.Second)
		b1, _ := sample(rn.cfg.bridgePID)
		p1, _ := sample(rn.cfg.prosodyPID)
		t1, _ := sample(os.Getpid())
		m1, _ := machineBusy()
		ours := (b1.CPUNs - b0.CPUNs) + (p1.CPUNs - p0.CPUNs) + (t1.CPUNs - t0.CPUNs)
		if float64(m1-m0-ours)/float64(time.Since(start))*100 < others {
			return true
		}
	}
	return false
}
