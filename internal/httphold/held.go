package httphold

import (
	"errors"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/bufpool"
	"github.com/xmppbridge/xmppbridge/internal/netwait"
)

// Response is an answer to a held request.
type Response struct {
	Status int
	// Header is added to what the handler had set on the ResponseWriter's
	// header before Hold, replacing keys it has too. Content-Length and
	// Connection are this package's.
	Header http.Header
	Body   []byte
	// Close closes the connection after the answer, keep-alive or not.
	Close bool
}

// Options tune Hold.
type Options struct {
	// WriteTimeout bounds writing the answer. Zero means 10 seconds.
	WriteTimeout time.Duration
	// OnGone, if set, is called once (from a goroutine of this package or
	// the handler's) when the client goes away before its answer. The
	// request must still be answered.
	OnGone func()
	// OnDone, if set, is called once the answer is written (or could not
	// be), from whichever goroutine wrote it.
	OnDone func()
}

const defaultWriteTimeout = 10 * time.Second

// aLongTimeAgo is a deadline that has always passed: it wakes a goroutine
// parked on the connection.
var aLongTimeAgo = time.Unix(1, 0)

// Held is a request to be answered later.
type Held struct {
	opt  Options
	w    http.ResponseWriter
	r    *http.Request
	base http.Header // the handler's header when taken over

	mu       sync.Mutex
	resp     *Response
	answered chan struct{}
	gone     bool

	// Taken over.
	l         *Listener
	nc        net.Conn
	rawc      syscall.RawConn
	keepAlive bool
}

// Hold prepares to answer the request being served later: Answer may be
// called from now on, and the handler must return through Wait. Hold
// reads nothing: the handler reads the request body first, all of it.
func Hold(w http.ResponseWriter, r *http.Request, opt Options) *Held {
	if opt.WriteTimeout <= 0 {
		opt.WriteTimeout = defaultWriteTimeout
	}
	return &Held{opt: opt, w: w, r: r, answered: make(chan struct{})}
}

// takeOverLocked takes the connection over, if it can be.
func (h *Held) takeOverLocked() bool {
	ci, _ := h.r.Context().Value(connKey{}).(*connInfo)
	if ci == nil || h.r.ProtoMajor != 1 || netwait.For(ci.c) == nil || ci.l.closed() {
		return false
	}
	base := h.w.Header().Clone()
	nc, rw, err := http.NewResponseController(h.w).Hijack()
	if err != nil {
		return false
	}
	if rw.Reader.Buffered() > 0 {
		// The client sent more behind this request, which browsers never
		// do: answer it, then close, rather than keep its bytes.
		h.keepAlive = false
	} else {
		h.keepAlive = h.r.ProtoMinor >= 1 && !h.r.Close
	}
	h.w, h.r, h.base = nil, nil, base
	h.l, h.nc, h.rawc = ci.l, nc, netwait.For(nc)
	ci.l.mu.Lock()
	ci.l.held++
	ci.l.mu.Unlock()
	return true
}

// Answer gives the request its answer. It does not block; only the first
// call counts.
func (h *Held) Answer(resp Response) {
	h.mu.Lock()
	if h.resp != nil {
		h.mu.Unlock()
		return
	}
	h.resp = &resp
	close(h.answered)
	nc := h.nc
	h.mu.Unlock()
	if nc != nil {
		_ = nc.SetReadDeadline(aLongTimeAgo) // wakes the parked goroutine
	}
}

// Wait is the handler's last call. The connection is taken over, if it can
// be: an answer already given is written at once and the connection parked
// for the client's next request; otherwise Wait returns, leaving the wait
// to a fresh goroutine. A connection that cannot be taken over blocks Wait
// until the answer, which it writes through net/http.
func (h *Held) Wait() {
	h.mu.Lock()
	if h.takeOverLocked() {
		answered := h.resp != nil
		h.mu.Unlock()
		if answered {
			// Written here, and the connection parked after it, rather
			// than left to net/http's goroutine and buffers until the
			// client's next request.
			h.respond()
			return
		}
		go h.watch()
		return
	}
	h.mu.Unlock()
	select {
	case <-h.answered:
	case <-h.r.Context().Done():
		h.setGone()
		<-h.answered
	}
	h.writeFallback()
	h.finished()
}

func (h *Held) finished() {
	if h.opt.OnDone != nil {
		h.opt.OnDone()
	}
}

func (h *Held) setGone() {
	h.mu.Lock()
	first := !h.gone
	h.gone = true
	h.mu.Unlock()
	if first && h.opt.OnGone != nil {
		h.opt.OnGone()
	}
}

// watch waits, on a goroutine of its own, for the answer or for the client
// to go away, without reading.
func (h *Held) watch() {
	for {
		err := netwait.Readable(h.rawc)
		h.mu.Lock()
		answered := h.resp != nil
		h.mu.Unlock()
		switch {
		case answered:
			h.respond()
			return
		case errors.Is(err, os.ErrDeadlineExceeded):
			continue // a wake that raced with the answer
		case err != nil || netwait.PeerClosed(h.rawc):
			h.setGone()
			<-h.answered
			h.done(false)
			return
		default:
			// Bytes before the answer: nothing to park on. Wait for the
			// answer, then close after it.
			h.keepAlive = false
			<-h.answered
			h.respond()
			return
		}
	}
}

// respond writes the answer on the connection taken over, then parks it for
// the next request or closes it.
func (h *Held) respond() {
	resp := h.resp
	keep := h.keepAlive && !resp.Close && !h.l.closed()
	_ = h.nc.SetWriteDeadline(time.Now().Add(h.opt.WriteTimeout))
	hp := bufpool.Get()
	*hp = appendHead(*hp, resp, h.base, len(resp.Body), keep)
	bufs := net.Buffers{*hp, resp.Body}
	_, err := bufs.WriteTo(h.nc)
	bufpool.Put(hp)
	_ = h.nc.SetWriteDeadline(time.Time{})
	h.done(keep && err == nil)
}

// done lets go of a connection taken over: parked for its next request, or
// closed.
func (h *Held) done(keep bool) {
	h.finished()
	l, nc := h.l, h.nc
	l.mu.Lock()
	l.held--
	l.mu.Unlock()
	if !keep {
		nc.Close()
		return
	}
	rawc := h.rawc
	go l.park(nc, func(net.Conn) error {
		if err := netwait.Readable(rawc); err != nil {
			return err
		}
		if netwait.PeerClosed(rawc) {
			return net.ErrClosed
		}
		return nil
	})
}

// writeFallback writes the answer through net/http.
func (h *Held) writeFallback() { Write(h.w, *h.resp, h.opt.WriteTimeout) }

// Reply answers the request being served at once, within timeout, as a
// Held answered before Wait: on a connection taken over where it can be,
// so that the keep-alive connection then waits parked rather than in
// net/http.
func Reply(w http.ResponseWriter, r *http.Request, resp Response, timeout time.Duration) {
	h := Hold(w, r, Options{WriteTimeout: timeout})
	h.Answer(resp)
	h.Wait()
}

// Write writes resp through w, within timeout, as a Held not taken over
// does.
func Write(w http.ResponseWriter, resp Response, timeout time.Duration) {
	hd := w.Header()
	for k, v := range resp.Header {
		hd[k] = v
	}
	hd.Set("Content-Length", strconv.Itoa(len(resp.Body)))
	if resp.Close {
		hd.Set("Connection", "close")
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(timeout))
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

// appendHead appends the status line and header of an answer whose body
// is resp.Body, or, with length -1, ends with the connection.
func appendHead(b []byte, resp *Response, base http.Header, length int, keep bool) []byte {
	b = append(b, "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(resp.Status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(resp.Status)...)
	b = append(b, "\r\n"...)
	keys := make([]string, 0, len(base)+len(resp.Header))
	for k := range base {
		if _, ok := resp.Header[k]; !ok {
			keys = append(keys, k)
		}
	}
	for k := range resp.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if k == "Content-Length" || k == "Connection" {
			continue
		}
		vs, ok := resp.Header[k]
		if !ok {
			vs = base[k]
		}
		for _, v := range vs {
			b = append(b, k...)
			b = append(b, ": "...)
			b = appendValue(b, v)
			b = append(b, "\r\n"...)
		}
	}
	b = append(b, "Date: "...)
	b = time.Now().UTC().AppendFormat(b, http.TimeFormat)
	b = append(b, "\r\n"...)
	if length >= 0 {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(length), 10)
		b = append(b, "\r\n"...)
	}
	if !keep {
		b = append(b, "Connection: close\r\n"...)
	}
	return append(b, "\r\n"...)
}

// appendValue appends a header value with CR and LF made spaces, as
// net/http does, so that no value can add a line.
func appendValue(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}
