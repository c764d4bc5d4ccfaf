package httphold

import (
	"errors"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/netwait"
)

// Stream is a response written in pieces, as they come, for as long as it
// lasts: Server-Sent Events. Like a Held request, it holds no goroutine of
// net/http's while nothing is to be written: the connection is taken over
// and parked; Write wakes the parked goroutine, which writes and parks
// again. A stream ends the connection (Connection: close): its body is
// delimited by the close.
type Stream struct {
	opt  Options
	w    http.ResponseWriter
	r    *http.Request
	head Response // status and header; Body is written first

	mu     sync.Mutex
	queue  []byte // written next
	closed bool   // Close was called: write what is queued, then close
	gone   bool
	wake   chan struct{} // fallback: a signal to look again
	ended  chan struct{} // closed when the stream is over

	nc   net.Conn
	rawc syscall.RawConn
	l    *Listener
}

// StartStream prepares a streamed answer: head's status and header go out
// first, then its body, then what Write gives, until Close or the client
// goes away (Options.OnGone). The handler must return through Wait.
func StartStream(w http.ResponseWriter, r *http.Request, head Response, opt Options) *Stream {
	if opt.WriteTimeout <= 0 {
		opt.WriteTimeout = defaultWriteTimeout
	}
	return &Stream{opt: opt, w: w, r: r, head: head, queue: head.Body, wake: make(chan struct{}, 1), ended: make(chan struct{})}
}

// Write queues b for the client. It does not block; b may be reused once
// it returns.
func (s *Stream) Write(b []byte) {
	s.mu.Lock()
	if s.closed || s.gone {
		s.mu.Unlock()
		return
	}
	s.queue = append(s.queue, b...)
	s.mu.Unlock()
	s.signal()
}

// Close ends the stream once what is queued is written.
func (s *Stream) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.signal()
}

func (s *Stream) signal() {
	s.mu.Lock()
	nc := s.nc
	s.mu.Unlock()
	if nc != nil {
		_ = nc.SetReadDeadline(aLongTimeAgo)
		return
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Done is closed when the stream is over: closed and written, or its
// client gone.
func (s *Stream) Done() <-chan struct{} { return s.ended }

// Wait is the handler's last call: it takes the connection over and
// returns, or, when that cannot be done, writes the stream itself until it
// is over.
func (s *Stream) Wait() {
	s.mu.Lock()
	if s.takeOverLocked() {
		s.mu.Unlock()
		go s.watch()
		return
	}
	s.mu.Unlock()
	s.serveFallback()
}

func (s *Stream) takeOverLocked() bool {
	ci, _ := s.r.Context().Value(connKey{}).(*connInfo)
	if ci == nil || s.r.ProtoMajor != 1 || netwait.For(ci.c) == nil || ci.l.closed() {
		return false
	}
	base := s.w.Header().Clone()
	nc, _, err := http.NewResponseController(s.w).Hijack()
	if err != nil {
		return false
	}
	// The head goes first, ahead of whatever is queued already.
	s.queue = append(appendHead(nil, &s.head, base, -1, false), s.queue...)
	s.w, s.r = nil, nil
	s.nc, s.rawc, s.l = nc, netwait.For(nc), ci.l
	ci.l.mu.Lock()
	ci.l.held++
	ci.l.mu.Unlock()
	return true
}

// watch writes what is queued and parks until there is more, the stream
// is closed or the client goes away.
func (s *Stream) watch() {
	defer s.finish()
	for {
		// Cleared before looking at the queue: a Write from now on sets it
		// again, so no wake is lost.
		_ = s.nc.SetReadDeadline(time.Time{})
		s.mu.Lock()
		out, closed := s.queue, s.closed
		s.queue = nil
		s.mu.Unlock()
		if len(out) > 0 {
			_ = s.nc.SetWriteDeadline(time.Now().Add(s.opt.WriteTimeout))
			if _, err := s.nc.Write(out); err != nil {
				s.setGone()
				return
			}
		}
		if closed {
			return
		}
		err := netwait.Readable(s.rawc)
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			continue // woken: more to write, or the end
		case err != nil || netwait.PeerClosed(s.rawc):
			s.setGone()
			return
		default:
			// The client sent something on a stream it only reads: ignore
			// it, as net/http would, but there is nothing to park on now.
			s.drain()
		}
	}
}

// drain reads and drops some of what the client sent, which is there to
// read, so that the socket can be waited on again.
func (s *Stream) drain() {
	var b [512]byte
	_, _ = s.nc.Read(b[:])
}

func (s *Stream) setGone() {
	s.mu.Lock()
	first := !s.gone
	s.gone = true
	s.mu.Unlock()
	if first && s.opt.OnGone != nil {
		s.opt.OnGone()
	}
}

func (s *Stream) finish() {
	if s.nc != nil {
		s.nc.Close()
		s.l.mu.Lock()
		s.l.held--
		s.l.mu.Unlock()
	}
	close(s.ended)
	if s.opt.OnDone != nil {
		s.opt.OnDone()
	}
}

// serveFallback writes the stream through net/http, on the handler's
// goroutine.
func (s *Stream) serveFallback() {
	defer s.finish()
	hd := s.w.Header()
	for k, v := range s.head.Header {
		hd[k] = v
	}
	rc := http.NewResponseController(s.w)
	s.w.WriteHeader(s.head.Status)
	done := s.r.Context().Done()
	for {
		s.mu.Lock()
		out, closed := s.queue, s.closed
		s.queue = nil
		s.mu.Unlock()
		if len(out) > 0 {
			_ = rc.SetWriteDeadline(time.Now().Add(s.opt.WriteTimeout))
			if _, err := s.w.Write(out); err != nil || rc.Flush() != nil {
				s.setGone()
				return
			}
		}
		if closed {
			return
		}
		select {
		case <-s.wake:
		case <-done:
			s.setGone()
			return
		}
	}
}
