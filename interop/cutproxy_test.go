//go:build integration

package interop

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"
)

// cutProxy is a TCP proxy on loopback between clients and an endpoint that
// can drop the network for a while: every connection through it is reset
// at once, and for the length of the cut new ones are reset as soon as they
// are accepted, so that a client sees its connection lost and its attempts
// to reconnect fail, as behind a Wi-Fi hand-over or a closed laptop lid.
// Its target may change between connections, as a balancer's does when it
// takes one backend out.
//
// Concurrency: its methods may be called from any goroutine.
type cutProxy struct {
	t *testing.T
	l net.Listener

	mu          sync.Mutex
	target      string
	refuseUntil time.Time
	conns       map[net.Conn]struct{} // both sides of every open pair
	accepted    int                   // connections passed to the target
	wg          sync.WaitGroup
}

// startCutProxy starts a proxy to target (host:port) and stops it when the
// test ends.
func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{t: t, l: l, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		l.Close()
		// A relay still dialling resets its pair when it is through.
		p.Refuse(time.Hour)
		p.resetAll()
		p.wg.Wait()
	})
	return p
}

// URL returns u (ws://host:port/path and the like) with the proxy's
// address in place of its host and port.
func (p *cutProxy) URL(u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		p.t.Fatalf("cutproxy: %v", err)
	}
	parsed.Host = p.l.Addr().String()
	return parsed.String()
}

// Cut resets every connection through the proxy and refuses new ones for d.
func (p *cutProxy) Cut(d time.Duration) {
	p.Refuse(d)
	p.resetAll()
}

// Refuse resets new connections as they come for d, leaving those open as
// they are.
func (p *cutProxy) Refuse(d time.Duration) {
	p.mu.Lock()
	p.refuseUntil = time.Now().Add(d)
	p.mu.Unlock()
}

// SetTarget sends the connections that come from now on to target.
func (p *cutProxy) SetTarget(target string) {
	p.mu.Lock()
	p.target = target
	p.mu.Unlock()
}

// Accepted is how many connections the proxy has passed on.
func (p *cutProxy) Accepted() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.accepted
}

func (p *cutProxy) resetAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		reset(c)
		delete(p.conns, c)
	}
}

// reset closes c with an RST rather than a FIN: the peer learns that the
// connection broke, not that it was closed in order.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

func (p *cutProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refused := time.Now().Before(p.refuseUntil)
		target := p.target
		p.mu.Unlock()
		if refused {
			reset(c)
			continue
		}
		p.wg.Add(1)
		go p.relay(c, target)
	}
}

// relay joins c to a new connection to target until either side ends.
func (p *cutProxy) relay(c net.Conn, target string) {
	defer p.wg.Done()
	up, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		reset(c)
		return
	}
	p.mu.Lock()
	if time.Now().Before(p.refuseUntil) {
		// A cut came while this one was dialling.
		p.mu.Unlock()
		reset(c)
		reset(up)
		return
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.accepted++
	p.mu.Unlock()

	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	// One side ended (or was cut): end the other as it ended.
	p.mu.Lock()
	_, open := p.conns[c]
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
	if open {
		_ = c.Close()
		_ = up.Close()
	}
	<-done
}
