package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// poster posts request bodies over keep-alive HTTP/1.1 connections of its
// own, one request at a time on each, from one source address. It is what
// a BOSH session of the load tool sends through instead of net/http's
// Client: every request waits on the caller's goroutine for its answer, so
// a message costs no hand-off between the transport's reader and writer
// goroutines, and the load tool, which shares a core with the bridge in
// the saturation runs, spends less of it per message.
type poster struct {
	host, path string // Host header and request target
	addr       string // host:port to dial
	dialer     net.Dialer
	timeout    time.Duration // bound on each request, from writing to the last byte read
	ctype      string        // Content-Type of the bodies

	mu   sync.Mutex
	idle []*pconn
	open int // connections, idle or in use
}

type pconn struct {
	c  net.Conn
	br *bufio.Reader
	wb []byte
}

// maxIdle is the most idle connections a poster keeps: a BOSH session with
// hold=1 has at most two requests open.
const maxIdle = 2

func newPoster(rawURL string, src net.IP, timeout time.Duration) (*poster, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("%s: only http:// URLs", rawURL)
	}
	addr := u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return &poster{
		host: u.Host, path: u.RequestURI(), addr: addr, timeout: timeout, ctype: "text/xml; charset=utf-8",
		dialer: net.Dialer{LocalAddr: &net.TCPAddr{IP: src}},
	}, nil
}

// post sends body and returns the response's status and body. A cancelled
// ctx ends a request under way (its connection is closed). A request that
// fails on a kept connection before any answer, which the server may have
// closed while it was idle, is sent once more on a new one.
func (p *poster) post(ctx context.Context, body []byte) (status int, data []byte, err error) {
	for attempt := 0; ; attempt++ {
		pc, reused, err := p.get(ctx, attempt > 0)
		if err != nil {
			return 0, nil, err
		}
		status, data, answered, err := p.once(ctx, pc, body)
		if err == nil || !reused || answered || ctx.Err() != nil {
			return status, data, p.ctxErr(ctx, err)
		}
	}
}

// once sends body on pc and reads the answer; answered says whether any of
// it came back. pc goes back to the idle list or is closed.
func (p *poster) once(ctx context.Context, pc *pconn, body []byte) (status int, data []byte, answered bool, err error) {
	keep := false
	defer func() { p.put(pc, keep) }()
	pc.c.SetDeadline(time.Now().Add(p.timeout))
	stop := context.AfterFunc(ctx, func() { pc.c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	pc.wb = append(pc.wb[:0], "POST "...)
	pc.wb = append(pc.wb, p.path...)
	pc.wb = append(pc.wb, " HTTP/1.1\r\nHost: "...)
	pc.wb = append(pc.wb, p.host...)
	pc.wb = append(pc.wb, "\r\nContent-Type: "...)
	pc.wb = append(pc.wb, p.ctype...)
	pc.wb = append(pc.wb, "\r\nContent-Length: "...)
	pc.wb = strconv.AppendInt(pc.wb, int64(len(body)), 10)
	pc.wb = append(pc.wb, "\r\n\r\n"...)
	pc.wb = append(pc.wb, body...)
	if _, err := pc.c.Write(pc.wb); err != nil {
		return 0, nil, false, err
	}
	if _, err := pc.br.Peek(1); err != nil {
		return 0, nil, false, err
	}
	resp, err := http.ReadResponse(pc.br, nil)
	if err != nil {
		return 0, nil, true, err
	}
	data, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, nil, true, err
	}
	keep = !resp.Close && stop()
	return resp.StatusCode, data, true, nil
}

func (p *poster) ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// get takes an idle connection, unless fresh, or dials a new one.
func (p *poster) get(ctx context.Context, fresh bool) (pc *pconn, reused bool, err error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 && !fresh {
		pc := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return pc, true, nil
	}
	p.open++
	p.mu.Unlock()
	c, err := p.dialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		p.mu.Lock()
		p.open--
		p.mu.Unlock()
		return nil, false, err
	}
	return &pconn{c: c, br: bufio.NewReaderSize(c, 2048)}, false, nil
}

// put keeps a connection for the next request, or closes it.
func (p *poster) put(pc *pconn, reuse bool) {
	p.mu.Lock()
	if reuse && len(p.idle) < maxIdle {
		pc.c.SetDeadline(time.Time{})
		p.idle = append(p.idle, pc)
		p.mu.Unlock()
		return
	}
	p.open--
	p.mu.Unlock()
	pc.c.Close()
}

// closeIdle closes the connections no request uses.
func (p *poster) closeIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.open -= len(idle)
	p.mu.Unlock()
	for _, pc := range idle {
		pc.c.Close()
	}
}

// conns is the number of connections open, idle or in use.
func (p *poster) conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open
}
