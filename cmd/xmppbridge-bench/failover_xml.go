package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"
)

// An XML page is the failover run's browser page speaking XMPP itself
// through the bridge, over RFC 7395 WebSocket or BOSH, and doing its own
// stream management (XEP-0198) as Converse and xmpp.js do: it logs in
// with SASL, binds, enables resumption, counts the server's stanzas it
// has (h), answers the server's <r/>, asks for an ack after each stanza
// it sends and keeps its stanzas until the server acknowledges them. When
// its connection fails it opens a new one (a new BOSH session, the old
// one's box being gone), authenticates and sends <resume previd h/>; on
// <resumed h/> it sends again what the server had not had. A <failed/> is
// a fresh login. The page state is the JSON pages' (failPage): the
// token is the stream management id, received is the server's h.

const smNS = "urn:xmpp:sm:3"

// xmlPageDialer opens XML pageConns over path (wsPath or boshPath).
type xmlPageDialer struct{ path Path }

// xmlPageConn is one XMPP stream of an XML page.
type xmlPageConn struct {
	s       Stream
	wmu     sync.Mutex // the sender's stanzas and the reader's acks
	acked   func(n, h int64)
	handled func() int64
}

func (d *xmlPageDialer) open(ctx context.Context, src net.IP, hello pageHello, acked func(n, h int64), handled func() int64) (pageConn, pageOpen, error) {
	s, err := d.path.Dial(ctx, src)
	if err != nil {
		return nil, pageOpen{}, err
	}
	c := &xmlPageConn{s: s, acked: acked, handled: handled}
	if ws, ok := s.(*wsStream); ok {
		if dl, ok := ctx.Deadline(); ok {
			ws.c.SetReadDeadline(dl)
		}
	}
	o, err := c.hello(ctx, hello)
	if err != nil {
		c.abort()
		return nil, pageOpen{}, err
	}
	if ws, ok := s.(*wsStream); ok {
		ws.c.SetReadDeadline(time.Time{})
	}
	return c, o, nil
}

// hello logs in and enables stream management, or resumes.
func (c *xmlPageConn) hello(ctx context.Context, hello pageHello) (pageOpen, error) {
	if !hello.resume {
		if _, err := saslLogin(ctx, c.s, hello.domain, hello.user, hello.password); err != nil {
			return pageOpen{}, err
		}
		if err := c.s.Send([]byte(`<enable xmlns="` + smNS + `" resume="true"/>`)); err != nil {
			return pageOpen{}, err
		}
	} else {
		feat, err := saslAuth(ctx, c.s, hello.domain, hello.user, hello.password)
		if err != nil {
			return pageOpen{}, err
		}
		if !bytes.Contains(feat, []byte(smNS)) {
			return pageOpen{}, fmt.Errorf("xep-0198: not offered: %.200s", feat)
		}
		el := fmt.Appendf(nil, `<resume xmlns="%s" previd="%s" h="%d"/>`, smNS, hello.token, uint32(hello.h))
		if err := c.s.Send(el); err != nil {
			return pageOpen{}, err
		}
	}
	for {
		el, err := c.s.Recv()
		if err != nil {
			return pageOpen{}, err
		}
		name := elemName(el)
		switch {
		case name == "enabled" && !hello.resume:
			id, ok := attrOf(el, "id")
			if !ok || id == "" {
				return pageOpen{}, fmt.Errorf("xep-0198: resumption not granted: %.200s", el)
			}
			return pageOpen{token: id}, nil
		case name == "resumed" && hello.resume:
			h, err := smH(el)
			if err != nil {
				return pageOpen{}, err
			}
			return pageOpen{token: hello.token, received: h, ackN: h}, nil
		case name == "failed":
			if hello.resume {
				return pageOpen{}, &errRefused{code: "failed"}
			}
			return pageOpen{}, fmt.Errorf("xep-0198: enable failed: %.200s", el)
		case name == "r" || name == "message" || name == "presence" || name == "iq":
			// Before <enabled/>: not counted on either side.
		default:
			return pageOpen{}, fmt.Errorf("xep-0198: got %.200s", el)
		}
	}
}

// send sends a stanza and asks for an ack of it.
func (c *xmlPageConn) send(frame []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.s.Send(frame); err != nil {
		return err
	}
	return c.s.Send([]byte(`<r xmlns="` + smNS + `"/>`))
}

// recv returns the next stanza, answering the server's <r/> and taking
// in its <a/> on the way.
func (c *xmlPageConn) recv() ([]byte, error) {
	for {
		el, err := c.s.Recv()
		if err != nil {
			return nil, err
		}
		switch elemName(el) {
		case "r":
			c.wmu.Lock()
			err := c.s.Send(fmt.Appendf(nil, `<a xmlns="%s" h="%d"/>`, smNS, uint32(c.handled())))
			c.wmu.Unlock()
			if err != nil {
				return nil, err
			}
		case "a":
			h, err := smH(el)
			if err != nil {
				return nil, err
			}
			c.acked(h, 0)
		case "message", "presence", "iq":
			return el, nil
		case "close", "error", "stream:error":
			return nil, fmt.Errorf("xmpp: stream ended: %.200s", el)
		}
	}
}

func (c *xmlPageConn) last() int64 { return 0 }

func (c *xmlPageConn) sid() string {
	if b, ok := c.s.(*boshStream); ok {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.sid
	}
	return ""
}

func (c *xmlPageConn) abort() {
	switch s := c.s.(type) {
	case *boshStream:
		s.abort()
	case *wsStream:
		s.c.Close()
	}
}

func (c *xmlPageConn) close() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.s.Close()
}

// isXMLStanza reports whether el counts in XEP-0198's h.
func isXMLStanza(el []byte) bool {
	switch elemName(el) {
	case "message", "presence", "iq":
		return true
	}
	return false
}

// elemName is the qualified name of el's start tag.
func elemName(el []byte) string {
	if len(el) < 2 || el[0] != '<' {
		return ""
	}
	end := bytes.IndexAny(el[1:], " \t\r\n/>")
	if end < 0 {
		return ""
	}
	return string(el[1 : 1+end])
}

// attrOf returns the value of attribute name of el's start tag.
func attrOf(el []byte, name string) (string, bool) {
	end, _, ok := tagEnd(el, 0)
	if !ok {
		return "", false
	}
	for _, a := range tagAttrs(el[1:end]) {
		if a.name == name {
			return a.value, true
		}
	}
	return "", false
}

// smH reads the h of <a/>, <resumed/> or <failed/>.
func smH(el []byte) (int64, error) {
	v, ok := attrOf(el, "h")
	h, err := strconv.ParseUint(v, 10, 32)
	if !ok || err != nil {
		return 0, fmt.Errorf("xep-0198: no h in %.200s", el)
	}
	return int64(h), nil
}
