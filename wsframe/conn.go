package wsframe

import (
	"errors"
	"sync"

	"github.com/gorilla/websocket"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/wsconn"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

// conn is one WebSocket connection's RFC 7395 framing and, once the browser
// has opened its stream, its session. The connection itself — parked
// reader, writer started on demand, keepalive — is wsconn's.
type conn struct {
	h      *Handler
	c      *wsconn.Conn
	client string // the upgrade request's RemoteAddr: the real client

	mu      sync.Mutex
	sess    *bridge.Session
	ended   bool               // the stream is over: ignore what the browser sends
	pending *bridge.CloseError // an end to write before any session exists

	// opened is set once an <open/> went out; only the writer touches it
	// (writers run one after another, handing over under wsconn's lock).
	opened bool
}

// Attach implements bridge.Transport: the connection's session, before it
// says anything.
func (c *conn) Attach(s *bridge.Session) {
	c.mu.Lock()
	c.sess = s
	c.mu.Unlock()
}

// Wake implements bridge.Transport.
func (c *conn) Wake() { c.c.Wake() }

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
	if sess == nil {
		c.pending = e
	}
	c.mu.Unlock()
	if sess != nil {
		sess.End(e)
		return
	}
	c.c.Wake()
}

func (c *conn) session() *bridge.Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess
}

// Message acts on one browser message (wsconn.Framing), on the read loop.
func (c *conn) Message(typ int, payload []byte, err error) {
	switch {
	case errors.Is(err, wsconn.ErrTooBig):
		c.end(&bridge.CloseError{Reason: bridge.ReasonTooBig, Text: "message over the size limit"})
		return
	case err != nil:
		c.end(&bridge.CloseError{Reason: bridge.ReasonGone, Err: err})
		return
	}
	c.mu.Lock()
	ended := c.ended
	c.mu.Unlock()
	if ended {
		return // draining until the browser's close frame
	}
	if typ != websocket.TextMessage {
		c.end(&bridge.CloseError{Reason: bridge.ReasonBadFormat, Text: "messages must be text (RFC 7395)"})
		return
	}
	f, cerr := parseFrame(payload, xmlsplit.Limits{MaxBytes: c.h.cfg.MaxStanzaBytes})
	if cerr != nil {
		c.end(cerr)
		return
	}
	c.handle(f)
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
		s, _ := c.h.cfg.Hub.Open(c.h.ctx, bridge.OpenRequest{To: f.open.To, From: f.open.From, Lang: f.open.Lang, Client: c.client}, c)
		c.mu.Lock()
		ended := c.ended
		c.mu.Unlock()
		if ended {
			// Shutdown reached this connection while it was opening.
			s.End(&bridge.CloseError{Reason: bridge.ReasonShutdown})
		}
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

// Closed is told that the browser's side ended (wsconn.Framing): the
// session hears why, if nothing else ended it, and the Handler forgets the
// connection.
func (c *conn) Closed(err error) {
	c.end(readEnd(err))
	c.h.forget(c)
}

// readEnd turns a read error into the reason the stream ends.
func readEnd(err error) *bridge.CloseError {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		return &bridge.CloseError{Reason: bridge.ReasonGone, Err: err}
	}
	if wsconn.TimedOut(err) {
		return &bridge.CloseError{Reason: bridge.ReasonConnectionTimeout, Err: err}
	}
	return &bridge.CloseError{Reason: bridge.ReasonGone, Err: err}
}
