package httphold

import (
	"context"
	"errors"
	"net"
	"sync"
	"time"
)

// DefaultIdleTimeout is how long a connection taken over waits for the
// client's next request once answered, when NewListener is given zero.
const DefaultIdleTimeout = 2 * time.Minute

// Listener wraps the listener an http.Server serves from, so that
// connections taken over by Hold can be handed back to the server when the
// client sends its next request. Set the server's ConnContext to the
// Listener's.
type Listener struct {
	net.Listener
	idle time.Duration

	accepted chan accepted
	back     chan net.Conn
	done     chan struct{}
	once     sync.Once

	mu     sync.Mutex
	parked map[net.Conn]struct{} // answered, waiting for the next request
	held   int                   // taken over and not yet answered
}

type accepted struct {
	c   net.Conn
	err error
}

// NewListener returns l wrapped; idle is how long a connection taken over
// may wait for its next request once answered (zero: DefaultIdleTimeout).
func NewListener(l net.Listener, idle time.Duration) *Listener {
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	ln := &Listener{
		Listener: l,
		idle:     idle,
		accepted: make(chan accepted),
		back:     make(chan net.Conn),
		done:     make(chan struct{}),
		parked:   make(map[net.Conn]struct{}),
	}
	go ln.acceptLoop()
	return ln
}

func (l *Listener) acceptLoop() {
	for {
		c, err := l.Listener.Accept()
		select {
		case l.accepted <- accepted{c, err}:
		case <-l.done:
			if c != nil {
				c.Close()
			}
			return
		}
		if errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// Accept returns the next new connection, or a connection taken over
// earlier whose client has sent its next request.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case a := <-l.accepted:
		return a.c, a.err
	case c := <-l.back:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting and closes the connections parked between
// requests. Held connections are closed when answered.
func (l *Listener) Close() error {
	var err error
	l.once.Do(func() {
		close(l.done)
		err = l.Listener.Close()
		l.mu.Lock()
		for c := range l.parked {
			c.Close()
		}
		l.mu.Unlock()
	})
	return err
}

func (l *Listener) closed() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// Counts says how many connections the Listener has taken over: held
// (waiting for their answer) and parked (answered, waiting for the
// client's next request).
func (l *Listener) Counts() (held, parked int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held, len(l.parked)
}

// ConnContext is for http.Server.ConnContext: it lets Hold find the
// connection a request came on, and this Listener.
func (l *Listener) ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey{}, &connInfo{l: l, c: c})
}

type connKey struct{}

type connInfo struct {
	l *Listener
	c net.Conn
}

// park keeps c until its client's next request arrives (handed back to the
// server), or the idle timeout or Close (closed). It runs on a goroutine
// of its own, started fresh so that its stack is small while it waits.
func (l *Listener) park(c net.Conn, wait func(net.Conn) error) {
	l.mu.Lock()
	if l.closed() {
		l.mu.Unlock()
		c.Close()
		return
	}
	l.parked[c] = struct{}{}
	l.mu.Unlock()

	_ = c.SetReadDeadline(time.Now().Add(l.idle))
	err := wait(c)

	l.mu.Lock()
	_, ok := l.parked[c]
	delete(l.parked, c)
	l.mu.Unlock()
	if err != nil || !ok {
		c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	select {
	case l.back <- c:
	case <-l.done:
		c.Close()
	}
}
