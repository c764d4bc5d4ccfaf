package wsconn

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xmppbridge/xmppbridge/internal/bufpool"
	"github.com/xmppbridge/xmppbridge/internal/netwait"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// closeWait bounds how long a connection waits for the browser's closing
// handshake after sending its own.
const closeWait = 5 * time.Second

// ErrTooBig is what Framing.Message gets for a message over MaxMessage.
var ErrTooBig = errors.New("wsconn: message over the size limit")

// Config configures a Server. Zero values mean the defaults given.
type Config struct {
	// BaseContext bounds what the connections wait on (their closing
	// handshakes): when it is done, they are cut, as by Cut. Nil means
	// context.Background().
	BaseContext context.Context
	// PingInterval is how often an idle connection is pinged; a browser
	// silent for twice as long is gone. Zero means 30 seconds.
	PingInterval time.Duration
	// WriteTimeout bounds every write. Zero means 10 seconds.
	WriteTimeout time.Duration
	// MaxMessage is the largest message read; a larger one is handed to
	// Message as ErrTooBig. Zero means 256 KiB.
	MaxMessage int
	// Subprotocols are the subprotocols offered (the first the browser
	// also asks for is chosen).
	Subprotocols []string
	// OnUpgradeError answers a request the upgrade refuses.
	OnUpgradeError func(w http.ResponseWriter, r *http.Request, status int, reason error)
}

// Framing is what one kind of WebSocket endpoint does with its messages.
type Framing interface {
	// Message handles one message from the browser, on the read loop:
	// its type (websocket.TextMessage, BinaryMessage) and payload, valid
	// until it returns, or ErrTooBig (or another read failure) instead.
	Message(typ int, payload []byte, err error)
	// Flush writes what the framing has for the browser, with the Conn's
	// write methods, on the writer goroutine, which Wake starts.
	Flush()
	// Closed is told, on the read loop, that the browser's side ended (its
	// close frame, a timeout, a broken connection), before the Conn waits
	// for the writer to finish and closes.
	Closed(err error)
}

// Server holds what a Handler's connections share: their goroutines,
// counted for shutdown, and a context cancelled to cut them short.
type Server struct {
	cfg      Config
	upgrader websocket.Upgrader
	WG       sync.WaitGroup // every goroutine of every Conn
	ctx      context.Context
	cancel   context.CancelFunc
}

// Defaults of the Config fields whose zero value means one, which the
// WebSocket transports' own configurations name too.
const (
	DefaultPingInterval = 30 * time.Second
	DefaultWriteTimeout = 10 * time.Second
)

// NewServer returns a Server.
func NewServer(cfg Config) *Server {
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = DefaultPingInterval
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.MaxMessage <= 0 {
		cfg.MaxMessage = xmppclient.DefaultMaxStanzaBytes
	}
	if cfg.BaseContext == nil {
		cfg.BaseContext = context.Background()
	}
	s := &Server{cfg: cfg}
	s.ctx, s.cancel = context.WithCancel(cfg.BaseContext)
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: cfg.WriteTimeout,
		// Zero: the upgrader reads through the buffered reader the hijack
		// returns, which hijacker makes a small one of ours instead of
		// net/http's 4 KiB one: it is held for the connection's life.
		ReadBufferSize: 0,
		// Write buffers are held only while a message is being written.
		WriteBufferPool: &writeBufferPool,
		Subprotocols:    cfg.Subprotocols,
		// Origins are checked by the Handler, with a clearer answer.
		CheckOrigin: func(*http.Request) bool { return true },
		Error:       cfg.OnUpgradeError,
	}
	return s
}

var writeBufferPool sync.Pool

// Cut cancels what the Server's connections wait on (their closing
// handshakes): for a shutdown that has run out of time.
func (s *Server) Cut() { s.cancel() }

// Conn is one WebSocket connection.
type Conn struct {
	srv *Server
	f   Framing
	// WS is the connection; Framing methods may use its write methods
	// only from Flush.
	WS    *websocket.Conn
	timer *time.Timer // keepalive pings
	// br is the connection's read buffer; rawc, when set, lets the reader
	// wait for the socket without it (see park.go).
	br   *bufio.Reader
	rawc syscall.RawConn

	mu      sync.Mutex
	writing bool // a writer goroutine is running
	kick    bool // the writer has something to look at
	ping    bool
	pong    []byte // payload of a ping to answer
	pongDue bool
	// finished is set once Finish ran: nothing more is written.
	finished bool
	done     chan struct{} // closed by Finish
}

// Upgrade upgrades the request to a WebSocket served with f (which newF
// makes, given the Conn), or answers through OnUpgradeError and returns
// nil. The read loop does not start until Start.
func (s *Server) Upgrade(w http.ResponseWriter, r *http.Request, newF func(*Conn) Framing) *Conn {
	hj := &hijacker{ResponseWriter: w}
	ws, err := s.upgrader.Upgrade(hj, r, nil)
	if err != nil {
		return nil // the upgrader has answered
	}
	c := &Conn{srv: s, WS: ws, done: make(chan struct{}), br: hj.br, rawc: netwait.For(ws.NetConn())}
	c.f = newF(c)
	ws.SetPingHandler(c.onPing)
	ws.SetPongHandler(func(string) error { return c.extendRead() })
	// Answering the browser's close frame is the writer's job; returning
	// nil makes NextReader report the close to the read loop.
	ws.SetCloseHandler(func(int, string) error { return nil })
	_ = c.extendRead()
	c.mu.Lock()
	c.timer = time.AfterFunc(s.cfg.PingInterval, c.onTimer)
	c.mu.Unlock()
	return c
}

// Start starts the read loop, on a fresh goroutine instead of net/http's:
// it starts with a small stack and the HTTP server forgets the hijacked
// connection.
func (c *Conn) Start() {
	c.srv.WG.Add(1)
	go c.readLoop(false)
}

// Wake makes the writer look at what the framing has (Flush), starting
// it unless it runs.
func (c *Conn) Wake() { c.wake(nil) }

func (c *Conn) wake(f func()) {
	c.mu.Lock()
	if f != nil {
		f()
	}
	c.kick = true
	// A writer is counted in the WaitGroup under the lock, while the read
	// loop, which finishes the connection before it is done, still counts:
	// never an Add at zero beside Shutdown's Wait. A finished connection
	// (a wake from a session ending after it) starts none.
	start := !c.writing && !c.finished
	if start {
		c.writing = true
		c.srv.WG.Add(1)
	}
	c.mu.Unlock()
	if start {
		go c.writeLoop()
	}
}

func (c *Conn) onTimer() {
	c.mu.Lock()
	finished, t := c.finished, c.timer
	c.mu.Unlock()
	if finished {
		return
	}
	c.wake(func() { c.ping = true })
	t.Reset(c.srv.cfg.PingInterval)
}

func (c *Conn) onPing(data string) error {
	c.wake(func() {
		c.pong = append(c.pong[:0], data...)
		c.pongDue = true
	})
	return c.extendRead()
}

func (c *Conn) extendRead() error {
	return c.WS.SetReadDeadline(time.Now().Add(2 * c.srv.cfg.PingInterval))
}

// writeLoop writes whatever is waiting and exits when nothing is. It is the
// only goroutine writing to the WebSocket; wake starts it.
func (c *Conn) writeLoop() {
	defer c.srv.WG.Done()
	for {
		c.mu.Lock()
		if !c.kick || c.finished {
			c.writing = false
			c.mu.Unlock()
			return
		}
		c.kick = false
		ping := c.ping
		c.ping = false
		var pong []byte
		if c.pongDue {
			pong, c.pongDue = append([]byte(nil), c.pong...), false
		}
		c.mu.Unlock()

		deadline := time.Now().Add(c.srv.cfg.WriteTimeout)
		if pong != nil {
			if c.WS.WriteControl(websocket.PongMessage, pong, deadline) != nil {
				c.failedWrite()
			}
		}
		if ping {
			if c.WS.WriteControl(websocket.PingMessage, nil, deadline) != nil {
				c.failedWrite()
			}
		}
		c.f.Flush()
	}
}

// failedWrite ends a connection that can no longer be written to: the
// read loop sees the close and ends the session; nothing more is written.
func (c *Conn) failedWrite() {
	c.finish()
	_ = c.WS.Close()
}

// finish stops writing for good: once, it lets the read loop's close go
// on.
func (c *Conn) finish() {
	c.mu.Lock()
	already := c.finished
	c.finished = true
	c.timer.Stop()
	c.mu.Unlock()
	if !already {
		close(c.done)
	}
}

// WriteText writes one text message within WriteTimeout, from Flush. A
// failure closes the connection (the read loop then reports it) and is
// returned.
func (c *Conn) WriteText(b []byte) error {
	_ = c.WS.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
	if err := c.WS.WriteMessage(websocket.TextMessage, b); err != nil {
		c.failedWrite()
		return err
	}
	return nil
}

// WriteTextParts writes one text message made of parts, from Flush; as
// WriteText.
func (c *Conn) WriteTextParts(parts ...[]byte) error {
	_ = c.WS.SetWriteDeadline(time.Now().Add(c.srv.cfg.WriteTimeout))
	w, err := c.WS.NextWriter(websocket.TextMessage)
	if err == nil {
		for _, p := range parts {
			if _, err = w.Write(p); err != nil {
				break
			}
		}
		if cerr := w.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		c.failedWrite()
	}
	return err
}

// Finish writes the close frame (code and text, text cut to what a control
// frame holds) and stops writing for good; the read loop then waits,
// bounded, for the browser's close frame. From Flush.
func (c *Conn) Finish(code int, text string) {
	if len(text) > 120 {
		text = text[:120]
	}
	msg := websocket.FormatCloseMessage(code, text)
	_ = c.WS.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.srv.cfg.WriteTimeout))
	_ = c.WS.SetReadDeadline(time.Now().Add(closeWait))
	c.finish()
}

// Close closes the connection at once.
func (c *Conn) Close() { _ = c.WS.Close() }

// readLoop reads the browser's messages until the connection ends. One
// goroutine reads at a time: when nothing is buffered, the loop hands the
// wait over to a fresh goroutine (awaitRead, which comes back here with
// ready set: something arrived) and returns. Each such goroutine is counted
// in the Server's WaitGroup.
func (c *Conn) readLoop(ready bool) {
	defer c.srv.WG.Done()
	for {
		if !ready && c.parkable() {
			c.srv.WG.Add(1)
			go c.awaitRead()
			return
		}
		ready = false
		typ, r, err := c.WS.NextReader()
		if err != nil {
			c.f.Closed(err)
			c.close(err)
			return
		}
		_ = c.extendRead()
		bp, err := readMessage(r, c.srv.cfg.MaxMessage)
		if err != nil {
			c.f.Message(typ, nil, err)
			continue
		}
		c.f.Message(typ, *bp, nil)
		bufpool.Put(bp)
	}
}

// close runs when the read loop ends with err: the writer gets a bounded
// time to write the end, and the socket is closed. A connection that broke
// (anything but the browser's close frame or a deadline) has nobody to
// write to: it is closed at once, rather than left in CLOSE-WAIT for a
// writer that a detached session never starts.
func (c *Conn) close(err error) {
	c.mu.Lock()
	c.timer.Stop()
	c.mu.Unlock()
	// (gorilla/websocket reports a connection that broke as a close with
	// 1006, which no browser sends.)
	var ce *websocket.CloseError
	if (!errors.As(err, &ce) || ce.Code == websocket.CloseAbnormalClosure) && !TimedOut(err) {
		c.finish()
		_ = c.WS.Close()
		return
	}
	select {
	case <-c.done:
	case <-time.After(c.srv.cfg.WriteTimeout):
	case <-c.srv.ctx.Done():
	}
	c.finish()
	_ = c.WS.Close()
}

// TimedOut reports whether a read error is the keepalive's deadline: the
// browser stopped answering pings.
func TimedOut(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}

// readMessage reads one message into a pooled buffer, refusing one over
// max bytes.
func readMessage(r io.Reader, max int) (*[]byte, error) {
	bp := bufpool.Get()
	b := (*bp)[:0]
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if len(b) > max {
			*bp = b[:0]
			bufpool.Put(bp)
			return nil, ErrTooBig
		}
		if err == io.EOF {
			*bp = b
			return bp, nil
		}
		if err != nil {
			*bp = b[:0]
			bufpool.Put(bp)
			return nil, err
		}
	}
}
