package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/gorilla/websocket"
)

// wsPath is XMPP over WebSocket (RFC 7395): one element per text message.
type wsPath struct {
	name, url string
}

func (p *wsPath) Name() string { return p.name }

// ioTimeout bounds each write, and each read during stream negotiation.
const ioTimeout = 30 * time.Second

func (p *wsPath) Dial(ctx context.Context, src net.IP) (Stream, error) {
	c, err := dialWebSocket(ctx, p.url, "xmpp", src)
	if err != nil {
		return nil, err
	}
	return &wsStream{c: c, buf: make([]byte, 0, 1024)}, nil
}

// dialWebSocket connects from src and insists on the subprotocol: a server
// that does not take it would not understand a single message.
func dialWebSocket(ctx context.Context, url, subprotocol string, src net.IP) (*websocket.Conn, error) {
	d := websocket.Dialer{
		Subprotocols:     []string{subprotocol},
		HandshakeTimeout: ioTimeout,
		NetDialContext:   (&net.Dialer{LocalAddr: &net.TCPAddr{IP: src}}).DialContext,
		ReadBufferSize:   1024,
		WriteBufferSize:  1024,
	}
	c, _, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	if c.Subprotocol() != subprotocol {
		c.Close()
		return nil, fmt.Errorf("%s: the server did not agree to the subprotocol %s", url, subprotocol)
	}
	return c, nil
}

type wsStream struct {
	c   *websocket.Conn
	buf []byte // the last element Recv returned
}

func (s *wsStream) Open(ctx context.Context, domain string) ([]byte, error) {
	if dl, ok := ctx.Deadline(); ok {
		s.c.SetReadDeadline(dl)
		defer s.c.SetReadDeadline(time.Time{})
	}
	if err := s.Send([]byte(`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="` + domain + `" version="1.0"/>`)); err != nil {
		return nil, err
	}
	el, err := s.Recv()
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(el, []byte("<open")) {
		return nil, fmt.Errorf("got %.100s, want <open/>", el)
	}
	el, err = s.Recv()
	if err != nil {
		return nil, err
	}
	if !bytes.Contains(el[:min(len(el), 40)], []byte("features")) {
		return nil, fmt.Errorf("got %.100s, want stream features", el)
	}
	return el, nil
}

func (s *wsStream) Send(el []byte) error {
	s.c.SetWriteDeadline(time.Now().Add(ioTimeout))
	return s.c.WriteMessage(websocket.TextMessage, el)
}

func (s *wsStream) Recv() ([]byte, error) {
	for {
		typ, r, err := s.c.NextReader()
		if err != nil {
			return nil, err
		}
		if typ != websocket.TextMessage {
			continue
		}
		s.buf = s.buf[:0]
		for {
			if len(s.buf) == cap(s.buf) {
				s.buf = append(s.buf, 0)[:len(s.buf)]
			}
			n, err := r.Read(s.buf[len(s.buf):cap(s.buf)])
			s.buf = s.buf[:len(s.buf)+n]
			if errors.Is(err, io.EOF) {
				return s.buf, nil
			}
			if err != nil {
				return nil, err
			}
		}
	}
}

func (s *wsStream) Close() error {
	s.Send([]byte(`<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>`))
	s.c.SetWriteDeadline(time.Now().Add(time.Second))
	s.c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	return s.c.Close()
}
