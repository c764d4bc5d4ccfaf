package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// resSample is one reading of the bridge's resources.
type resSample struct {
	T          float64 `json:"t_s"` // since the run's base
	Phase      string  `json:"phase"`
	Up         int     `json:"users_logged_in"`
	RSSKiB     int64   `json:"rss_kib"`
	FDs        int     `json:"fds"`
	Goroutines int     `json:"goroutines"`
}

func (s resSample) String() string {
	return fmt.Sprintf("RSS %.1f MiB, %d descriptors, %d goroutines", float64(s.RSSKiB)/1024, s.FDs, s.Goroutines)
}

// leakSlack is how far above the baseline the bridge may end.
type leakSlack struct {
	goroutines, fds int
	rssMiB          float64
}

// within reports whether s is back to base within slack.
func (l leakSlack) within(s, base resSample) bool {
	return s.Goroutines <= base.Goroutines+l.goroutines && s.FDs <= base.FDs+l.fds &&
		float64(s.RSSKiB-base.RSSKiB) <= l.rssMiB*1024
}

// monitor reads the bridge's RSS and descriptors from /proc and its
// goroutine count from its pprof endpoint, over one kept-alive
// connection, so the reading itself holds the same one descriptor and
// goroutine at the baseline as at the end.
type monitor struct {
	pid    int
	url    string
	client *http.Client
	base   time.Time

	mu    sync.Mutex
	phase string
	all   []resSample
	stop  func()
}

func newMonitor(pid int, pprofAddr string, base time.Time) *monitor {
	return &monitor{
		pid:    pid,
		base:   base,
		url:    "http://" + pprofAddr + "/debug/pprof/goroutine?debug=1",
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}},
		phase:  "baseline",
	}
}

func (m *monitor) close() { m.client.CloseIdleConnections() }

// read takes one reading.
func (m *monitor) read(ctx context.Context) (resSample, error) {
	var s resSample
	var err error
	if s.RSSKiB, err = rss(m.pid); err != nil {
		return s, err
	}
	if s.FDs, err = openFDs(m.pid); err != nil {
		return s, err
	}
	if s.Goroutines, err = m.goroutines(ctx); err != nil {
		return s, err
	}
	return s, nil
}

// goroutines reads "goroutine profile: total N" from the bridge's pprof.
func (m *monitor) goroutines(ctx context.Context) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil {
		return 0, fmt.Errorf("pprof: %w", err)
	}
	// Read the rest, so the connection is kept for the next reading.
	for {
		if _, err := br.Discard(1 << 16); err != nil {
			break
		}
	}
	n, ok := strings.CutPrefix(strings.TrimSpace(line), "goroutine profile: total ")
	if !ok {
		return 0, fmt.Errorf("pprof: %q is no goroutine profile", line)
	}
	return strconv.Atoi(n)
}

// baseline is the bridge before any session: the last of three readings a
// second apart, once the readings themselves have their connection.
func (m *monitor) baseline(ctx context.Context) (resSample, error) {
	var s resSample
	for i := range 3 {
		if i > 0 {
			sleepCtx(ctx, time.Second)
		}
		var err error
		if s, err = m.read(ctx); err != nil {
			return s, err
		}
	}
	s.Phase = "baseline"
	m.mu.Lock()
	m.all = append(m.all, s)
	m.mu.Unlock()
	return s, nil
}

func (m *monitor) setPhase(p string) {
	m.mu.Lock()
	m.phase = p
	m.mu.Unlock()
}

// run takes a reading every interval until stopped; stop may be called
// more than once.
func (m *monitor) run(sk *soakRun, interval time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			s, err := m.read(ctx)
			if err != nil {
				sk.logf("soak: reading the bridge: %v", err)
				continue
			}
			s.T = sk.now().Seconds()
			sk.mu.Lock()
			s.Up = sk.up
			sk.mu.Unlock()
			m.mu.Lock()
			s.Phase = m.phase
			m.all = append(m.all, s)
			m.mu.Unlock()
			sk.logf("soak: %5.0fs %-8s %d users: %s", s.T, s.Phase, s.Up, s)
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { cancel(); wg.Wait() }) }
}

// settle waits, at most bound, until a reading is back to base within
// slack, and returns the last reading.
func (m *monitor) settle(ctx context.Context, base resSample, slack leakSlack, bound time.Duration) resSample {
	end := time.Now().Add(bound)
	var s resSample
	for {
		var err error
		s, err = m.read(ctx)
		if err == nil && slack.within(s, base) || !time.Now().Before(end) || ctx.Err() != nil {
			break
		}
		sleepCtx(ctx, time.Second)
	}
	s.Phase = "final"
	s.T = time.Since(m.base).Seconds()
	return s
}

func (m *monitor) samples() []resSample {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]resSample(nil), m.all...)
}

// profile is the bridge's goroutine profile, grouped by stack, without
// the frames of the runtime and the standard library's network code,
// for a report of what did not go away.
func (m *monitor) profile(ctx context.Context) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url, nil)
	if err != nil {
		return err.Error()
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var out []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		l := sc.Text()
		if f := strings.Fields(l); len(f) >= 3 && f[0] == "#" && (strings.HasPrefix(f[2], "runtime.") || strings.HasPrefix(f[2], "internal/poll.") || strings.HasPrefix(f[2], "net.")) {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
