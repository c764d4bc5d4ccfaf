package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/xmppbridge/xmppbridge/bosh"
	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/health"
	"github.com/xmppbridge/xmppbridge/jsonapi"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// metricsPath is where the metrics listener serves Prometheus' text
// format.
const metricsPath = "/metrics"

// metrics are the daemon's Prometheus metrics. Almost all are read at
// scrape time from the counts the library packages keep (bridge.Hub.Stats,
// bosh and jsonapi Handler.Stats), so nothing here runs per stanza; only
// the upstream phase histograms are observed as they happen, once per
// phase of each upstream dial. docs/operations.md lists them.
type metrics struct {
	reg *prometheus.Registry

	phases   *prometheus.HistogramVec
	failures *prometheus.CounterVec
}

// newMetrics returns the daemon's metrics with the Go runtime and process
// collectors, in a registry of their own (not the global one, so that a
// second run in one process, as in tests, starts afresh).
func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		phases: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "xmppbridge_upstream_phase_seconds",
			Help:    "How long opening upstream streams took, by phase: connect (lookup and TCP), tls (STARTTLS or direct TLS), login (bridge-side SASL and bind), resume (XEP-0198). Successful phases only.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"phase"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xmppbridge_upstream_phase_failures_total",
			Help: "Phases of opening upstream streams that failed (a refused login is a failed login phase).",
		}, []string{"phase"}),
	}
	for _, p := range []xmppclient.Phase{xmppclient.PhaseConnect, xmppclient.PhaseTLS, xmppclient.PhaseLogin, xmppclient.PhaseResume} {
		m.phases.WithLabelValues(p.String())
		m.failures.WithLabelValues(p.String())
	}
	m.reg.MustRegister(
		m.phases, m.failures,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	)
	return m
}

// observe is xmppclient.Config.Observe.
func (m *metrics) observe(p xmppclient.Phase, d time.Duration, err error) {
	if err != nil {
		m.failures.WithLabelValues(p.String()).Inc()
		return
	}
	m.phases.WithLabelValues(p.String()).Observe(d.Seconds())
}

// observing makes the upstream rule time every dial it configures. With m
// nil (metrics off) it is the rule itself.
func (m *metrics) observing(upstream func(string) (xmppclient.Config, error)) func(string) (xmppclient.Config, error) {
	if m == nil {
		return upstream
	}
	return func(domain string) (xmppclient.Config, error) {
		c, err := upstream(domain)
		c.Observe = m.observe
		return c, err
	}
}

// watch adds the counts of the hub and the transports to the metrics.
func (m *metrics) watch(hub *bridge.Hub, bh *bosh.Handler, jh *jsonapi.Handler) {
	if m == nil {
		return
	}
	m.reg.MustRegister(&statsCollector{
		hub:  func() bridge.Stats { return hub.Stats() },
		bosh: func() bosh.Stats { return bh.Stats() },
		json: func() jsonapi.Stats { return jh.Stats() },
	})
}

// The metrics read from the packages' counts at scrape time.
var (
	descSessions = prometheus.NewDesc("xmppbridge_sessions",
		"Sessions now, by transport and state: open, or detached (a JSON API session whose page went away, waiting for a resume).",
		[]string{"transport", "state"}, nil)
	descOpened = prometheus.NewDesc("xmppbridge_sessions_opened_total",
		"Sessions asked for, refused ones included; each ends once, in xmppbridge_sessions_ended_total.",
		[]string{"transport"}, nil)
	descEnded = prometheus.NewDesc("xmppbridge_sessions_ended_total",
		"Sessions ended, by transport and reason (the bridge's close reasons, docs/operations.md).",
		[]string{"transport", "reason"}, nil)
	descStanzas = prometheus.NewDesc("xmppbridge_stanzas_total",
		"Top-level elements relayed, by transport and direction: in from browsers to servers, out from servers to browsers.",
		[]string{"transport", "direction"}, nil)
	descBytes = prometheus.NewDesc("xmppbridge_stanza_bytes_total",
		"Bytes of the elements relayed, as XML, by transport and direction (framing not included).",
		[]string{"transport", "direction"}, nil)
	descOverflows = prometheus.NewDesc("xmppbridge_queue_overflows_total",
		"Sessions ended because the browser did not read fast enough and its queue overflowed (reason slow-consumer).",
		[]string{"transport"}, nil)
	descHeld = prometheus.NewDesc("xmppbridge_held_requests",
		"Long-poll requests held now, waiting for something to answer with (BOSH, JSON API polls).",
		[]string{"transport"}, nil)
	descStreams = prometheus.NewDesc("xmppbridge_event_streams",
		"JSON API events streams (Server-Sent Events) open now.",
		nil, nil)
	descResumes = prometheus.NewDesc("xmppbridge_upstream_resumes_total",
		"Upstream streams whose link broke, of sessions whose stream management the bridge does, by outcome: resumed in place, or failed (the session ended).",
		[]string{"outcome"}, nil)
	descPageResumes = prometheus.NewDesc("xmppbridge_json_resumes_total",
		"JSON API resume frames (a page reconnecting to its session with a token), by outcome: resumed, or the code of the error that refused it (bad-token, item-not-found, conflict, bad-request, ...).",
		[]string{"outcome"}, nil)
	descFaults = prometheus.NewDesc("xmppbridge_upstream_faults_total",
		"Elements from servers that were not namespace-well-formed, by what was done: repaired or dropped. The sessions went on.",
		[]string{"action"}, nil)
	descLoginsFailed = prometheus.NewDesc("xmppbridge_logins_failed_total",
		"Logins the server refused: bridge-side logins (JSON API, prebind) and relayed ones the bridge noticed.",
		nil, nil)
	descLoginsThrottled = prometheus.NewDesc("xmppbridge_logins_throttled_total",
		"Login attempts the bridge's own limits refused before the server saw them.",
		nil, nil)
)

// statsCollector turns the packages' counts into metrics at each scrape.
type statsCollector struct {
	hub  func() bridge.Stats
	bosh func() bosh.Stats
	json func() jsonapi.Stats
}

// transportNames are the transports always reported, so that their series
// exist from the start and rate() sees the first session.
var transportNames = []string{"websocket", "bosh", "json"}

// Describe implements prometheus.Collector.
func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSessions, descOpened, descEnded, descStanzas, descBytes, descOverflows,
		descHeld, descStreams, descResumes, descPageResumes, descFaults, descLoginsFailed, descLoginsThrottled} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.hub()
	bs, js := c.bosh(), c.json()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	names := transportNames
	for name := range st.Transports {
		if !slices.Contains(names, name) {
			names = append(names[:len(names):len(names)], name)
		}
	}
	for _, name := range names {
		ts := st.Transports[name]
		open, detached := ts.Open, int64(0)
		if name == "json" {
			// The bridge counts a detached session as open: its upstream
			// stream is. Each is counted in one state only.
			detached = min(int64(js.Detached), open)
			open -= detached
			gauge(descSessions, float64(detached), name, "detached")
		}
		gauge(descSessions, float64(max(open, 0)), name, "open")
		counter(descOpened, ts.Opened, name)
		for _, r := range bridge.Reasons() {
			counter(descEnded, ts.Ended[r], name, r.String())
		}
		counter(descStanzas, ts.StanzasIn, name, "in")
		counter(descStanzas, ts.StanzasOut, name, "out")
		counter(descBytes, ts.BytesIn, name, "in")
		counter(descBytes, ts.BytesOut, name, "out")
		counter(descOverflows, ts.Ended[bridge.ReasonSlowConsumer], name)
	}
	gauge(descHeld, float64(bs.Held), "bosh")
	gauge(descHeld, float64(js.Held), "json")
	gauge(descStreams, float64(js.Streams))
	counter(descResumes, st.Resumed, "resumed")
	counter(descResumes, st.ResumeFailed, "failed")
	// resumed and bad-token always, so that both series exist from the
	// start; other refusals as they come.
	counter(descPageResumes, js.Resumes["resumed"], "resumed")
	counter(descPageResumes, js.Resumes["bad-token"], "bad-token")
	for _, oc := range slices.Sorted(maps.Keys(js.Resumes)) {
		if oc != "resumed" && oc != "bad-token" {
			counter(descPageResumes, js.Resumes[oc], oc)
		}
	}
	counter(descFaults, st.Repaired, "repaired")
	counter(descFaults, st.Dropped, "dropped")
	counter(descLoginsFailed, st.LoginsFailed)
	counter(descLoginsThrottled, st.LoginsThrottled)
}

// serveMetrics serves /metrics, and the health endpoints beside it, on a
// listener of its own at addr, until the returned stop is called; stop
// waits for the server's goroutine.
func serveMetrics(addr string, m *metrics, checker *health.Checker, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle(metricsPath, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
		Timeout:       10 * time.Second,
	}))
	mountHealth(mux, checker)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics listener failed", "err", err)
		}
	}()
	log.Info("metrics served", "addr", ln.Addr().String(), "path", metricsPath)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			_ = srv.Close()
		}
		<-done
	}, nil
}
