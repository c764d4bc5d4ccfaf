package main

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/xmppbridge/xmppbridge/bosh"
	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/health"
	"github.com/xmppbridge/xmppbridge/jsonapi"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// fixedStats is a statsCollector over counts a test sets.
func fixedStats(st bridge.Stats, bs bosh.Stats, js jsonapi.Stats) *statsCollector {
	return &statsCollector{
		hub:  func() bridge.Stats { return st },
		bosh: func() bosh.Stats { return bs },
		json: func() jsonapi.Stats { return js },
	}
}

func ended(pairs ...any) map[bridge.Reason]uint64 {
	m := make(map[bridge.Reason]uint64)
	for _, r := range bridge.Reasons() {
		m[r] = 0
	}
	for i := 0; i < len(pairs); i += 2 {
		m[pairs[i].(bridge.Reason)] = uint64(pairs[i+1].(int))
	}
	return m
}

func TestStatsCollector(t *testing.T) {
	st := bridge.Stats{
		Repaired: 3, Dropped: 1, Resumed: 4, ResumeFailed: 2, LoginsFailed: 7, LoginsThrottled: 5,
		Transports: map[string]bridge.TransportStats{
			"websocket": {Open: 2, Opened: 10, Ended: ended(bridge.ReasonNormal, 5, bridge.ReasonSlowConsumer, 3),
				StanzasIn: 100, BytesIn: 10000, StanzasOut: 200, BytesOut: 30000},
			"json": {Open: 3, Opened: 3, Ended: ended()},
		},
	}
	c := fixedStats(st, bosh.Stats{Sessions: 0, Held: 0}, jsonapi.Stats{Sessions: 3, Detached: 1, Held: 2, Streams: 1,
		Resumes: map[string]uint64{"resumed": 6, "item-not-found": 2}})
	tests := []struct {
		name   string
		metric string
		want   string
	}{
		{"sessions by state", "xmppbridge_sessions", `
# HELP xmppbridge_sessions Sessions now, by transport and state: open, or detached (a JSON API session whose page went away, waiting for a resume).
# TYPE xmppbridge_sessions gauge
xmppbridge_sessions{state="open",transport="bosh"} 0
xmppbridge_sessions{state="detached",transport="json"} 1
xmppbridge_sessions{state="open",transport="json"} 2
xmppbridge_sessions{state="open",transport="websocket"} 2
`},
		{"stanzas both ways", "xmppbridge_stanzas_total", `
# HELP xmppbridge_stanzas_total Top-level elements relayed, by transport and direction: in from browsers to servers, out from servers to browsers.
# TYPE xmppbridge_stanzas_total counter
xmppbridge_stanzas_total{direction="in",transport="bosh"} 0
xmppbridge_stanzas_total{direction="in",transport="json"} 0
xmppbridge_stanzas_total{direction="in",transport="websocket"} 100
xmppbridge_stanzas_total{direction="out",transport="bosh"} 0
xmppbridge_stanzas_total{direction="out",transport="json"} 0
xmppbridge_stanzas_total{direction="out",transport="websocket"} 200
`},
		{"overflows are slow-consumer ends", "xmppbridge_queue_overflows_total", `
# HELP xmppbridge_queue_overflows_total Sessions ended because the browser did not read fast enough and its queue overflowed (reason slow-consumer).
# TYPE xmppbridge_queue_overflows_total counter
xmppbridge_queue_overflows_total{transport="bosh"} 0
xmppbridge_queue_overflows_total{transport="json"} 0
xmppbridge_queue_overflows_total{transport="websocket"} 3
`},
		{"held requests", "xmppbridge_held_requests", `
# HELP xmppbridge_held_requests Long-poll requests held now, waiting for something to answer with (BOSH, JSON API polls).
# TYPE xmppbridge_held_requests gauge
xmppbridge_held_requests{transport="bosh"} 0
xmppbridge_held_requests{transport="json"} 2
`},
		{"resumes", "xmppbridge_upstream_resumes_total", `
# HELP xmppbridge_upstream_resumes_total Upstream streams whose link broke, of sessions whose stream management the bridge does, by outcome: resumed in place, or failed (the session ended).
# TYPE xmppbridge_upstream_resumes_total counter
xmppbridge_upstream_resumes_total{outcome="failed"} 2
xmppbridge_upstream_resumes_total{outcome="resumed"} 4
`},
		{"page resumes", "xmppbridge_json_resumes_total", `
# HELP xmppbridge_json_resumes_total JSON API resume frames (a page reconnecting to its session with a token), by outcome: resumed, or the code of the error that refused it (bad-token, item-not-found, conflict, bad-request, ...).
# TYPE xmppbridge_json_resumes_total counter
xmppbridge_json_resumes_total{outcome="bad-token"} 0
xmppbridge_json_resumes_total{outcome="item-not-found"} 2
xmppbridge_json_resumes_total{outcome="resumed"} 6
`},
		{"logins", "xmppbridge_logins_throttled_total", `
# HELP xmppbridge_logins_throttled_total Login attempts the bridge's own limits refused before the server saw them.
# TYPE xmppbridge_logins_throttled_total counter
xmppbridge_logins_throttled_total 5
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := testutil.CollectAndCompare(c, strings.NewReader(tt.want), tt.metric); err != nil {
				t.Error(err)
			}
		})
	}
	t.Run("every reason of every transport", func(t *testing.T) {
		if got, want := testutil.CollectAndCount(c, "xmppbridge_sessions_ended_total"), 3*len(bridge.Reasons()); got != want {
			t.Errorf("%d series, want %d", got, want)
		}
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(c)
		if got := value(t, reg, "xmppbridge_sessions_ended_total", "transport", "websocket", "reason", "slow-consumer"); got != 3 {
			t.Errorf("ended slow-consumer = %v, want 3", got)
		}
		if got := value(t, reg, "xmppbridge_sessions_ended_total", "transport", "websocket", "reason", "normal"); got != 5 {
			t.Errorf("ended normal = %v, want 5", got)
		}
	})
	t.Run("a transport with no name of its own", func(t *testing.T) {
		st := bridge.Stats{Transports: map[string]bridge.TransportStats{"other": {Open: 1, Opened: 1, Ended: ended()}}}
		c := fixedStats(st, bosh.Stats{}, jsonapi.Stats{})
		if got := testutil.CollectAndCount(c, "xmppbridge_sessions_opened_total"); got != 4 {
			t.Errorf("%d series of opened, want the three transports and other", got)
		}
	})
	t.Run("lint", func(t *testing.T) {
		problems, err := testutil.CollectAndLint(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range problems {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
	})
}

// value gathers reg and returns the value of the counter or gauge name
// with the labels given as name, value pairs.
func value(t *testing.T, reg prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue metric
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no %s%v", name, labels)
	return 0
}

// The phases of upstream dials go into the histogram, failures into the
// counter.
func TestObserve(t *testing.T) {
	m := newMetrics()
	m.observe(xmppclient.PhaseConnect, 3*time.Millisecond, nil)
	m.observe(xmppclient.PhaseTLS, 20*time.Millisecond, nil)
	m.observe(xmppclient.PhaseLogin, time.Second, errors.New("not-authorized"))
	if got := testutil.CollectAndCount(m.phases); got != 4 {
		t.Errorf("%d phase histograms, want one per phase from the start", got)
	}
	if got := testutil.ToFloat64(m.failures.WithLabelValues("login")); got != 1 {
		t.Errorf("login failures = %v", got)
	}
	if got := testutil.ToFloat64(m.failures.WithLabelValues("connect")); got != 0 {
		t.Errorf("connect failures = %v", got)
	}
	up := m.observing(func(d string) (xmppclient.Config, error) { return xmppclient.Config{Domain: d}, nil })
	c, _ := up("example.com")
	if c.Observe == nil {
		t.Error("the upstream rule does not observe")
	}
	var off *metrics
	c, _ = off.observing(func(d string) (xmppclient.Config, error) { return xmppclient.Config{Domain: d}, nil })("example.com")
	if c.Observe != nil {
		t.Error("metrics off, yet the upstream rule observes")
	}
}

// The metrics listener serves Prometheus' text format, with the runtime
// and process metrics, and the health endpoints beside it.
func TestServeMetrics(t *testing.T) {
	m := newMetrics()
	m.observe(xmppclient.PhaseConnect, time.Millisecond, nil)
	checker := health.New(health.Config{})
	checker.Serving()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	stop, err := serveMetrics(addr, m, checker, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	get := func(path string) (int, string) {
		t.Helper()
		res, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	status, body := get("/metrics")
	if status != 200 {
		t.Fatalf("GET /metrics: %d", status)
	}
	for _, want := range []string{
		"\ngo_goroutines ",
		"\nprocess_resident_memory_bytes ",
		"\ngo_build_info{",
		`xmppbridge_upstream_phase_seconds_count{phase="connect"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if status, _ := get("/healthz"); status != 200 {
		t.Errorf("GET /healthz: %d", status)
	}
	if status, _ := get("/readyz"); status != 200 {
		t.Errorf("GET /readyz: %d", status)
	}
	if _, err := serveMetrics(addr, m, checker, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("a second listener on the same address")
	}
}

// The example Grafana dashboard asks only for metrics the daemon exports.
func TestDashboard(t *testing.T) {
	data, err := os.ReadFile("../../docs/grafana/xmppbridge.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatal(err)
	}
	hub := bridge.New(bridge.Config{})
	m := newMetrics()
	m.watch(hub, bosh.New(bosh.Config{Hub: hub}), jsonapi.New(jsonapi.Config{Hub: hub}))
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	have := make(map[string]bool)
	for _, mf := range mfs {
		have[mf.GetName()] = true
		if mf.GetType().String() == "HISTOGRAM" {
			for _, s := range []string{"_bucket", "_sum", "_count"} {
				have[mf.GetName()+s] = true
			}
		}
	}
	name := regexp.MustCompile(`\b(?:xmppbridge|process|go)_[a-z0-9_]+\b`)
	asked := 0
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			for _, n := range name.FindAllString(target.Expr, -1) {
				asked++
				if !have[n] {
					t.Errorf("panel %q asks for %s, which the daemon does not export", p.Title, n)
				}
			}
		}
	}
	if asked == 0 {
		t.Fatal("the dashboard asks for no metric")
	}
}
