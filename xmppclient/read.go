package xmppclient

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/netwait"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

// poolBufSize is the size of the read buffers Next borrows while it has
// data to split: large enough for a typical stanza or a full TCP segment.
const poolBufSize = 4096

var bufPool = sync.Pool{New: func() any {
	b := make([]byte, poolBufSize)
	return &b
}}

// aLongTimeAgo is a deadline that has always passed.
var aLongTimeAgo = time.Unix(1, 0)

// reader is the read side of a Conn. Only the goroutine calling Next
// touches it, except held, which tests read.
type reader struct {
	buf    *[]byte // nil while no unconsumed bytes are held
	pooled bool    // buf came from bufPool (else it was grown)
	r, w   int     // the unconsumed bytes are (*buf)[r:w]
	max    int     // the largest buffer a partial element may grow to

	// pending is a read error that came with data; it is returned once
	// that data is used up.
	pending error
	err     error // sticky: Next fails with it from now on
	// ready is set by Await: the socket is readable, so Next reads at once.
	ready bool

	sp xmlsplit.Splitter
	ns nsCache

	held atomic.Int64 // bytes of buffer held, for tests
}

func (rd *reader) get() {
	rd.buf = bufPool.Get().(*[]byte)
	rd.pooled = true
	rd.r, rd.w = 0, 0
	rd.held.Store(int64(len(*rd.buf)))
}

func (rd *reader) release() {
	if rd.buf != nil && rd.pooled {
		bufPool.Put(rd.buf)
	}
	rd.buf = nil
	rd.pooled = false
	rd.r, rd.w = 0, 0
	rd.held.Store(0)
}

// consume drops n bytes that were split off. When nothing is left the
// buffer goes back at once, so an idle Conn holds none; when a grown
// buffer has only a little left, that moves to a pooled one.
func (rd *reader) consume(n int) {
	rd.r += n
	switch left := rd.w - rd.r; {
	case left == 0:
		rd.release()
	case !rd.pooled && left <= poolBufSize:
		old, r, w := rd.buf, rd.r, rd.w
		rd.get()
		rd.w = copy(*rd.buf, (*old)[r:w])
	}
}

// grow makes room for more of a partial element, up to max.
func (rd *reader) grow() bool {
	n := len(*rd.buf)
	if n >= rd.max {
		return false
	}
	b := make([]byte, min(2*n, rd.max))
	rd.w = copy(b, (*rd.buf)[rd.r:rd.w])
	rd.r = 0
	if rd.pooled {
		bufPool.Put(rd.buf)
	}
	rd.buf, rd.pooled = &b, false
	rd.held.Store(int64(len(b)))
	return true
}

func (rd *reader) fail(err error) {
	rd.err = err
	rd.release()
}

// Next returns the next thing the server sent: a stream header, one
// top-level element or the stream's end. It blocks until one is complete,
// holding no read buffer while it waits for the socket. Only one goroutine
// may call Next. After an error, Next keeps returning it; after EventEnd it
// returns an error wrapping io.EOF.
//
// On a stream opened by Dial every <stream:features/> is filtered for the
// browser first: <starttls/> and SASL mechanisms ending in -PLUS are
// removed, as the browser can use neither through the bridge.
func (c *Conn) Next() (Event, error) {
	rd := &c.rd
	if len(c.early) > 0 {
		ev := c.early[0]
		c.early = c.early[1:]
		return ev, nil
	}
	for {
		if rd.err != nil {
			return Event{}, rd.err
		}
		if rd.w > rd.r {
			it, n, err := rd.sp.Split((*rd.buf)[rd.r:rd.w])
			if err != nil {
				rd.fail(syntaxError(err))
				continue
			}
			if n > 0 {
				c.ka.heard.Add(1)
				var ev Event
				var bad error
				switch it.Kind {
				case xmlsplit.KindOpen:
					h := parseHeader(&it.Element)
					rd.ns.reset(&rd.sp)
					c.setHeader(h)
					ev = Event{Kind: EventHeader, Header: h}
				case xmlsplit.KindElement:
					ev, bad = c.element(&it)
				case xmlsplit.KindClose:
					ev = Event{Kind: EventEnd}
				}
				rd.consume(n)
				switch {
				case bad != nil:
					rd.fail(bad)
					continue
				case ev.Kind == 0:
					continue
				case ev.Kind == EventEnd:
					rd.fail(errStreamEnded)
				}
				return ev, nil
			}
		}
		if err := c.fill(); err != nil {
			rd.fail(c.readFailure(err))
		}
	}
}

// element copies an element out of the read buffer: the one copy of a
// stanza. An event of Kind 0 is nothing for the caller; an error ends the
// stream.
func (c *Conn) element(it *xmlsplit.Item) (Event, error) {
	el := &it.Element
	if it.Fault != nil {
		ev := c.repair(el, it.Fault)
		c.smCount(el, &ev)
		return ev, nil
	}
	var seq Event
	if c.sm.on {
		if !c.smRead(el, &seq) {
			return Event{}, nil // the server's <r/>, answered
		}
		if seq.Kind == EventAcked {
			return seq, nil
		}
		c.smCount(el, &seq)
	}
	if c.read(el) {
		return Event{}, nil // the answer to the keepalive's question: ours alone
	}
	var data []byte
	kind := EventElement
	switch {
	case (c.relay || c.cfg.Security == Plaintext) && isStreamElement(el, "features", &c.rd.sp):
		if c.cfg.Security == Plaintext && requiresTLS(el) {
			return Event{}, &Error{Cond: condRemoteConnectionFailed, Err: ErrTLSRequired}
		}
		if c.relay {
			data = filterFeatures(el)
		}
	case isStreamElement(el, "error", &c.rd.sp):
		kind = EventStreamError
	}
	if data == nil {
		data = make([]byte, len(el.Raw))
		copy(data, el.Raw)
	}
	ev := Event{Kind: kind, Data: data, NS: c.rd.ns.nsFor(el, &c.rd.sp), NSAt: el.NSAt, Seq: seq.Seq}
	if kind == EventStreamError {
		ev.StreamError = parseStreamError(&ev)
	}
	return ev, nil
}

// repair turns an element the tolerant splitter found at fault into its
// namespace-well-formed equivalent, standing alone, or drops it.
func (c *Conn) repair(el *xmlsplit.Element, fault *xmlsplit.SyntaxError) Event {
	who := string(el.Name)
	if from, ok := el.Attr("from"); ok {
		who += " from " + unescapeString(from)
	}
	b := withNS(el.Raw, el.NSAt, c.rd.ns.nsFor(el, &c.rd.sp))
	fixed, err := xmlsplit.Repair(b, xmlsplit.ParseOptions{Limits: xmlsplit.Limits{
		MaxBytes: 2 * len(b),
		MaxDepth: c.rd.sp.MaxDepth,
	}})
	if err != nil {
		return Event{Kind: EventDropped, Fault: fmt.Errorf("%w %s: %w (%w)", ErrDropped, who, fault, err)}
	}
	return Event{Kind: EventElement, Data: fixed, Fault: fmt.Errorf("xmppclient: repaired %s: %w", who, fault)}
}

// fill reads more bytes into the reader's buffer.
func (c *Conn) fill() error {
	rd := &c.rd
	if rd.pending != nil {
		err := rd.pending
		rd.pending = nil
		return readError(err)
	}
	if rd.buf == nil {
		return c.fillIdle()
	}
	// A partial element is held: the buffer cannot go back, so read into
	// it directly, making room first.
	if rd.r > 0 {
		rd.w = copy(*rd.buf, (*rd.buf)[rd.r:rd.w])
		rd.r = 0
	}
	if rd.w == len(*rd.buf) && !rd.grow() {
		return &Error{Cond: condPolicyViolation, Err: errStanzaTooBig}
	}
	n, err := c.nc.Read((*rd.buf)[rd.w:])
	rd.w += n
	if n > 0 {
		c.ka.heard.Add(1) // a large element coming slowly is a sign of life too
	}
	return rd.after(n, err)
}

// after records the result of a read of n bytes.
func (rd *reader) after(n int, err error) error {
	if n > 0 {
		rd.pending = err
		return nil
	}
	if rd.w == rd.r {
		rd.release()
	}
	if err == nil {
		return nil
	}
	return readError(err)
}

func readError(err error) error {
	if errors.Is(err, io.EOF) {
		return errUnexpectedEOF
	}
	return fmt.Errorf("xmppclient: read: %w", err)
}

// fillIdle reads when the Conn holds no buffer, without taking one until
// there is something to read.
//
// On a TCP socket it parks in the runtime's network poller on a peek
// (netwait.Readable), then reads into a pooled buffer. After Await it skips
// the wait: Await did it.
//
// A *tls.Conn may already hold decrypted data or whole records read from
// the socket, which a wait on the socket would never see. So first it is
// probed: a read with a deadline in the past returns what it holds, or a
// timeout without touching the socket (the poller refuses before reading,
// and crypto/tls treats a timeout as temporary: readRecordOrCCS does not
// make it the connection's sticky error, see crypto/tls/conn.go). Then the
// wait on the socket, then a one-byte read: a record without application
// data (a session ticket, a key update) then keeps Next waiting inside
// crypto/tls with no buffer of ours; once a byte arrives the rest of what
// crypto/tls holds is probed out into a pooled buffer. crypto/tls keeps its
// own record buffer for the life of the connection; that is outside this
// package's control.
func (c *Conn) fillIdle() error {
	rd := &c.rd
	ready := rd.ready
	rd.ready = false
	if c.tlsc != nil && !ready {
		rd.get()
		n, err := c.probe((*rd.buf)[rd.w:])
		rd.w += n
		if n > 0 || err != nil {
			return rd.after(n, err)
		}
		rd.release()
	}
	if c.rawc != nil {
		if !ready {
			if c.onWait != nil {
				c.onWait()
			}
			if err := netwait.Readable(c.rawc); err != nil {
				return readError(err)
			}
		}
		if c.tlsc != nil {
			var one [1]byte
			n, err := c.tlsc.Read(one[:])
			if n == 0 {
				return rd.after(0, err)
			}
			rd.get()
			(*rd.buf)[0] = one[0]
			rd.w = 1
			if err != nil {
				return rd.after(1, err)
			}
			n, err = c.probe((*rd.buf)[rd.w:])
			rd.w += n
			if err != nil {
				rd.pending = err
			}
			return nil
		}
	}
	rd.get()
	n, err := c.nc.Read(*rd.buf)
	rd.w += n
	return rd.after(n, err)
}

// Drained reports whether Next would now have to wait for the server and
// Await can do that wait: the Conn holds no unread bytes and no error, and
// its socket can be waited on without a read (see package netwait; not on
// every platform). On a TLS stream it first takes what crypto/tls already
// holds, so a true answer means nothing is held anywhere.
//
// A reader that keeps one goroutine per Conn can then leave the wait to a
// fresh goroutine (which calls Await, then Next) and end its own: the fresh
// goroutine's stack is the small one it started with, while the old one's
// stack had grown on the way to Next, and a parked goroutine keeps its
// stack. Only the goroutine that calls Next may call Drained.
func (c *Conn) Drained() bool {
	rd := &c.rd
	if rd.err != nil || rd.buf != nil || rd.pending != nil || rd.ready || c.rawc == nil {
		return false
	}
	if c.tlsc != nil {
		rd.get()
		n, err := c.probe((*rd.buf)[rd.w:])
		rd.w += n
		if n > 0 || err != nil {
			if err := rd.after(n, err); err != nil {
				rd.fail(err)
			}
			return false
		}
		rd.release()
	}
	rd.sp.Trim()
	return true
}

// Await parks until the socket has something to read, holding no buffer,
// for the Next that follows; a failure (a deadline, a closed connection) is
// that Next's to return. Call it only after Drained returned true, from the
// goroutine that will call Next next.
func (c *Conn) Await() {
	if c.onWait != nil {
		c.onWait()
	}
	if err := netwait.Readable(c.rawc); err != nil {
		c.rd.fail(c.readFailure(readError(err)))
		return
	}
	c.rd.ready = true
}

// probe reads from the TLS connection only what it already holds. A
// timeout is no error here: it means it holds nothing.
func (c *Conn) probe(b []byte) (int, error) {
	c.dmu.Lock()
	_ = c.raw.SetReadDeadline(aLongTimeAgo)
	n, err := c.tlsc.Read(b)
	_ = c.raw.SetReadDeadline(c.rdl)
	c.dmu.Unlock()
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		err = nil
	}
	return n, err
}
