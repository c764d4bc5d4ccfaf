package health

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// fakeDial connects to the addresses in up and refuses the others, counting
// every attempt.
type fakeDial struct {
	mu    sync.Mutex
	up    map[string]bool
	tries map[string]int
	delay time.Duration // before answering
}

func (f *fakeDial) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	f.mu.Lock()
	f.tries[addr]++
	up := f.up[addr]
	f.mu.Unlock()
	if f.delay > 0 {
		select {
		case <-time.After(f.delay):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if !up {
		return nil, errors.New("connection refused")
	}
	a, b := net.Pipe()
	b.Close()
	return a, nil
}

func (f *fakeDial) set(addr string, up bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.up[addr] = up
}

func (f *fakeDial) count(addr string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tries[addr]
}

var targets = []Target{{"a.example", "a:5222"}, {"b.example", "b:5222"}}

func newFake(up ...string) *fakeDial {
	f := &fakeDial{up: make(map[string]bool), tries: make(map[string]int)}
	for _, a := range up {
		f.up[a] = true
	}
	return f
}

func TestNotReady(t *testing.T) {
	tests := []struct {
		name    string
		targets []Target
		up      []string
		serving bool
		drain   bool
		want    []string
	}{
		{"before serving", targets, []string{"a:5222", "b:5222"}, false, false, []string{"not serving yet"}},
		{"serving, no targets", nil, nil, true, false, nil},
		{"serving, all up", targets, []string{"a:5222", "b:5222"}, true, false, nil},
		{"serving, one down", targets, []string{"a:5222"}, true, false, []string{"b.example: server unreachable"}},
		{"serving, all down", targets, nil, true, false, []string{"a.example: server unreachable", "b.example: server unreachable"}},
		{"draining", targets, []string{"a:5222", "b:5222"}, true, true, []string{"draining"}},
		{"draining, one down", targets, []string{"a:5222"}, true, true, []string{"draining"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(tt.up...)
			c := New(Config{Targets: tt.targets, Dial: f.dial})
			if tt.serving {
				c.Serving()
			}
			if tt.drain {
				c.Drain()
			}
			if got := c.NotReady(); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("NotReady() = %q, want %q", got, tt.want)
			}
			if !tt.serving || tt.drain {
				if n := f.count("a:5222"); n != 0 {
					t.Errorf("%d connection attempts while not serving or draining, want none", n)
				}
			}
		})
	}
}

// However often readiness is asked, each server gets one connection
// attempt per CacheFor, and changes are reported once.
func TestRoundsCached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake("a:5222")
		var changes []string
		c := New(Config{Targets: targets, Dial: f.dial, CacheFor: 5 * time.Second, OnChange: func(t Target, err error) {
			changes = append(changes, t.Name+" "+map[bool]string{true: "down", false: "up"}[err != nil])
		}})
		c.Serving()
		for range 10 {
			c.NotReady()
		}
		if a, b := f.count("a:5222"), f.count("b:5222"); a != 1 || b != 1 {
			t.Errorf("attempts within CacheFor: a %d, b %d; want 1 each", a, b)
		}
		f.set("b:5222", true)
		time.Sleep(4 * time.Second)
		if got := c.NotReady(); len(got) != 1 {
			t.Errorf("NotReady() = %q within CacheFor, want the cached answer", got)
		}
		time.Sleep(time.Second)
		if got := c.NotReady(); got != nil {
			t.Errorf("NotReady() = %q after CacheFor with b up, want ready", got)
		}
		if a := f.count("a:5222"); a != 2 {
			t.Errorf("attempts after CacheFor: %d, want 2", a)
		}
		if want := []string{"b.example down", "b.example up"}; !reflect.DeepEqual(changes, want) {
			t.Errorf("OnChange heard %q, want %q", changes, want)
		}
	})
}

// Requests that come while a round is under way wait for it instead of
// starting their own.
func TestConcurrentRequestsShareARound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake("a:5222", "b:5222")
		f.delay = time.Second
		c := New(Config{Targets: targets, Dial: f.dial})
		c.Serving()
		var wg sync.WaitGroup
		var notReady atomic.Int32
		for range 20 {
			wg.Go(func() {
				if c.NotReady() != nil {
					notReady.Add(1)
				}
			})
		}
		wg.Wait()
		if a := f.count("a:5222"); a != 1 {
			t.Errorf("%d attempts for 20 concurrent requests, want 1", a)
		}
		if n := notReady.Load(); n != 0 {
			t.Errorf("%d requests not ready", n)
		}
	})
}

// A server that neither accepts nor refuses is unreachable after Timeout.
func TestTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFake("a:5222", "b:5222")
		f.delay = time.Hour
		c := New(Config{Targets: targets[:1], Dial: f.dial, Timeout: 2 * time.Second})
		c.Serving()
		start := time.Now()
		if got, want := c.NotReady(), []string{"a.example: server unreachable"}; !reflect.DeepEqual(got, want) {
			t.Errorf("NotReady() = %q, want %q", got, want)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Errorf("the round took %v of the bubble's clock, want the 2s timeout", d)
		}
	})
}

// With the real dialer: a listening port is reachable, a closed one not.
func TestRealDial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	c := New(Config{Targets: []Target{{"up", ln.Addr().String()}, {"down", closedAddr}}})
	c.Serving()
	if got, want := c.NotReady(), []string{"down: server unreachable"}; !reflect.DeepEqual(got, want) {
		t.Errorf("NotReady() = %q, want %q", got, want)
	}
}

func TestHandlers(t *testing.T) {
	f := newFake("a:5222")
	ready := New(Config{Targets: targets[:1], Dial: f.dial})
	ready.Serving()
	down := New(Config{Targets: targets, Dial: f.dial})
	down.Serving()
	draining := New(Config{})
	draining.Serving()
	draining.Drain()

	tests := []struct {
		name    string
		h       http.Handler
		method  string
		code    int
		body    string
		noStore bool
	}{
		{"live", ready.Live(), "GET", 200, `{"status":"up"}`, true},
		{"live while draining", draining.Live(), "GET", 200, `{"status":"up"}`, true},
		{"ready", ready.Ready(), "GET", 200, `{"status":"ready"}`, true},
		{"ready, HEAD", ready.Ready(), "HEAD", 200, "", true},
		{"one server down", down.Ready(), "GET", 503, `{"status":"not ready","not_ready":["b.example: server unreachable"]}`, true},
		{"draining", draining.Ready(), "GET", 503, `{"status":"not ready","not_ready":["draining"]}`, true},
		{"not yet serving", New(Config{}).Ready(), "GET", 503, `{"status":"not ready","not_ready":["not serving yet"]}`, true},
		{"POST", ready.Ready(), "POST", 405, "health: only GET and HEAD", true},
		{"POST live", ready.Live(), "POST", 405, "health: only GET and HEAD", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.h.ServeHTTP(rec, httptest.NewRequest(tt.method, "/readyz", nil))
			res := rec.Result()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.code || strings.TrimSpace(string(body)) != tt.body {
				t.Errorf("%s: %d %q, want %d %q", tt.method, res.StatusCode, body, tt.code, tt.body)
			}
			if got := res.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			if wantType := "application/json"; tt.code != 405 && res.Header.Get("Content-Type") != wantType {
				t.Errorf("Content-Type = %q, want %s", res.Header.Get("Content-Type"), wantType)
			}
		})
	}
}
