package testbed

import (
	"fmt"
	"sync"
	"testing"
)

// Shared hands out servers shared by the tests of one package: each set of
// Options gets one server, started when a test first asks for it and kept
// until Stop, which TestMain calls after m.Run. Starting only on demand
// keeps "go test -run" from starting servers the chosen tests do not use.
//
// Tests on a shared server must leave it usable for the others: users they
// add get names of their own, and what they change (rosters, presence) must
// not matter to another test.
//
// The zero value is ready to use. Get may be called from parallel tests.
type Shared struct {
	mu      sync.Mutex
	servers map[Options]*sharedServer
	stopped bool
}

type sharedServer struct {
	once sync.Once
	s    *Server
	stop func()
	err  error
}

// Get returns the server for opt, starting it if no test has asked for it
// yet. A server that cannot be started fails every test that asks for it,
// with the same error. When the test fails, the end of the server's log is
// written to the test log.
func (sh *Shared) Get(t testing.TB, opt Options) *Server {
	t.Helper()
	if opt.Kind == "" {
		opt.Kind = KindProsody
	}
	sh.mu.Lock()
	if sh.stopped {
		sh.mu.Unlock()
		t.Fatal("testbed: Shared.Get after Stop")
	}
	if sh.servers == nil {
		sh.servers = map[Options]*sharedServer{}
	}
	ss := sh.servers[opt]
	if ss == nil {
		ss = &sharedServer{}
		sh.servers[opt] = ss
	}
	sh.mu.Unlock()

	ss.once.Do(func() { ss.s, ss.stop, ss.err = StartMainWith(opt) })
	if ss.err != nil {
		t.Fatalf("shared %s: %v", opt.Kind, ss.err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			ss.s.logTail(t)
		}
	})
	return ss.s
}

// Stop stops every server Get started and removes their directories. It
// waits for starts under way.
func (sh *Shared) Stop() {
	sh.mu.Lock()
	sh.stopped = true
	servers := sh.servers
	sh.mu.Unlock()
	for _, ss := range servers {
		ss.once.Do(func() { ss.err = fmt.Errorf("testbed: stopped") })
		if ss.stop != nil {
			ss.stop()
		}
	}
}
