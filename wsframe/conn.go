package wsframe

import (
	"bufio"
	"errors"
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/netwait"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

// closeWait bounds how long a connection waits for the browser's closing
// handshake after the bridge has sent its own.
const closeWait = 5 * time.Second

// conn is one WebSocket connection and, once the browser has opened its
// stream, its session.
type conn struct {
	h     *Handler
	ws    *websocket.Conn
	timer *time.Timer // keepalive pings
	// br is ws's read buffer; rawc, when set, lets the reader wait for
	// the socket without it (see park.go).
	br   *bufio.Reader
	rawc syscall.RawConn

	mu      sync.Mutex
	sess    *bridge.Session
	ended   bool               // the stream is over: ignore what the browser sends
	pending *bridge.CloseError // an end to write before any session exists
	writing bool               // a writer goroutine is running
	kick    bool               // the writer has something to look at
	ping    bool
	pong    []byte // payload of a ping to answer; nil when none
	pongDue bool
	// finished is set once the end is written: nothing more is written.
	finished bool
	done     chan struct{} // closed by the writer once the end is written

	// opened is set once an <open/> went out; only the writer touches it
	// (writers run one after another, handing over under mu).
	opened bool
}

func newConn(h *Handler, ws *websocket.Conn, hj *hijacker) *conn {
	c := &conn{h: h, ws: ws, done: make(chan struct{}), br: hj.br, rawc: netwait.For(ws.NetConn())}
	ws.SetPingHandler(c.onPing)
	ws.SetPongHandler(func(string) error { return c.extendRead() })
	// Answering the browser's close frame is the writer's job; returning
	// nil makes NextReader report the close to the read loop.
	ws.SetCloseHandler(func(int, string) error { return nil })
	_ = c.extendRead()
	c.mu.Lock()
	c.timer = time.AfterFunc(h.cfg.PingInterval, c.onTimer)
	c.mu.Unlock()
	return c
}

// Wake implements bridge.Transport.
func (c *conn) Wake() { c.wake(nil) }

// wake starts the writer unless it runs; f, if set, records what it should
// do under the same lock.
func (c *conn) wake(f func()) {
	c.mu.Lock()
	if f != nil {
		f()
	}
	c.kick = true
	start := !c.writing
	c.writing = true
	c.mu.Unlock()
	if start {
		c.h.wg.Add(1)
		go c.writeLoop()
	}
}

func (c *conn) onTimer() {
	c.mu.Lock()
	finished, t := c.finished, c.timer
	c.mu.Unlock()
	if finished {
		return
	}
	c.wake(func() { c.ping = true })
	t.Reset(c.h.cfg.PingInterval)
}

func (c *conn) onPing(data string) error {
	c.wake(func() {
		c.pong = append(c.pong[:0], data...)
		c.pongDue = true
	})
	return c.extendRead()
}

func (c *conn) extendRead() error {
	return c.ws.SetReadDeadline(time.Now().Add(2 * c.h.cfg.PingInterval))
}

// end ends the stream for a reason found on the browser's side (or by
// shutdown). With a session, the end goes through its queue, after what is
// already waiting; without one, the writer sends it.
func (c *conn) end(e *bridge.CloseError) {
	c.mu.Lock()
	if c.ended {
		c.mu.Unlock()
		return
	}
	c.ended = true
	sess := c.sess
	c.mu.Unlock()
	if sess != nil {
		sess.End(e)
		return
	}
	c.wake(func() { c.pending = e })
}

func (c *conn) session() *bridge.Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess
}

// readLoop reads the browser's messages until the connection ends. One
// goroutine reads at a time: when nothing is buffered, the loop hands the
// wait over to a fresh goroutine (awaitRead, which comes back here with
// ready set: something arrived) and returns. Each such goroutine is counted
// in the handler's wait group.
func (c *conn) readLoop(ready bool) {
	defer c.h.wg.Done()
	lim := xmlsplit.Limits{MaxBytes: c.h.cfg.MaxStanzaBytes}
	for {
		if !ready && c.parkable() {
			c.h.wg.Add(1)
			go c.awaitRead()
			return
		}
		ready = false
		typ, r, err := c.ws.NextReader()
		if err != nil {
			c.end(readEnd(err))
			c.close()
			return
		}
		_ = c.extendRead()
		c.mu.Lock()
		ended := c.ended
		c.mu.Unlock()
		if ended {
			continue // draining until the browser's close frame
		}
		if typ != websocket.TextMessage {
			c.end(&bridge.CloseError{Reason: bridge.ReasonBadFormat, Text: "messages must be text (RFC 7395)"})
			continue
		}
		bp, err := readMessage(r, c.h.cfg.MaxStanzaBytes)
		if err != nil {
			c.end(err.(*bridge.CloseError))
			continue
		}
		f, cerr := parseFrame(*bp, lim)
		if cerr != nil {
			putBuffer(bp)
			c.end(cerr)
			continue
		}
		c.handle(f)
		putBuffer(bp)
	}
}

// handle acts on one checked browser message.
func (c *conn) handle(f frame) {
	sess := c.session()
	switch f.kind {
	case frameEmpty:
	case frameOpen:
		if sess != nil {
			_ = sess.Restart() // a failure ends the session, which says why
			return
		}
		if c.h.cfg.SeeOtherURI != nil {
			if uri := c.h.cfg.SeeOtherURI(f.open.To); uri != "" {
				c.end(&bridge.CloseError{Reason: bridge.ReasonSeeOther, URI: uri})
				return
			}
		}
		s, _ := c.h.cfg.Hub.Open(c.h.ctx, bridge.OpenRequest{To: f.open.To, From: f.open.From, Lang: f.open.Lang}, c)
		c.mu.Lock()
		c.sess = s
		ended := c.ended
		c.mu.Unlock()
		if ended {
			// Shutdown reached this connection while it was opening.
			s.End(&bridge.CloseError{Reason: bridge.ReasonShutdown})
		}
		// Items pushed before c.sess was set found no session to pull
		// from: look again.
		c.Wake()
	case frameClose:
		c.end(&bridge.CloseError{Reason: bridge.ReasonNormal})
	case frameElement:
		if sess == nil {
			c.end(&bridge.CloseError{Reason: bridge.ReasonBadFormat, Text: "the stream must be opened with <open/> first"})
			return
		}
		_ = sess.Send(f.elem) // a failure ends the session, which says why
	}
}

// close runs when the read loop ends: the session is told the browser is
// gone (if nothing else ended it), the writer gets a bounded time to write
// the end, and the socket is closed.
func (c *conn) close() {
	c.end(&bridge.CloseError{Reason: bridge.ReasonGone})
	c.mu.Lock()
	c.timer.Stop()
	c.mu.Unlock()
	select {
	case <-c.done:
	case <-time.After(c.h.cfg.WriteTimeout):
	case <-c.h.ctx.Done():
	}
	_ = c.ws.Close()
	c.h.forget(c)
}

// readEnd turns a read error into the reason the stream ends.
func readEnd(err error) *bridge.CloseError {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return &bridge.CloseError{Reason: bridge.ReasonGone, Err: err}
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return &bridge.CloseError{Reason: bridge.ReasonConnectionTimeout, Err: err}
	}
	return &bridge.CloseError{Reason: bridge.ReasonGone, Err: err}
}

var bufferPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// maxPooled is the largest buffer kept for reuse.
const maxPooled = 64 << 10

// readMessage reads one message into a pooled buffer, refusing one over
// max bytes.
func readMessage(r io.Reader, max int) (*[]byte, error) {
	bp := bufferPool.Get().(*[]byte)
	b := (*bp)[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if len(b) > max {
			*bp = b[:0]
			putBuffer(bp)
			return nil, &bridge.CloseError{Reason: bridge.ReasonTooBig, Text: "message over the size limit"}
		}
		if err == io.EOF {
			*bp = b
			return bp, nil
		}
		if err != nil {
			*bp = b[:0]
			putBuffer(bp)
			return nil, &bridge.CloseError{Reason: bridge.ReasonGone, Err: err}
		}
	}
}

func putBuffer(bp *[]byte) {
	if cap(*bp) > maxPooled {
		return
	}
	*bp = (*bp)[:0]
	bufferPool.Put(bp)
}
