package wsframe

import (
	"crypto/rand"
	"encoding/hex"
	"unsafe"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// Flush writes whatever is waiting (wsconn.Framing), on the connection's
// one writer goroutine: an end found before any session, or what the
// session's queue holds.
func (c *conn) Flush() {
	c.mu.Lock()
	pending := c.pending
	c.pending = nil
	sess := c.sess
	c.mu.Unlock()
	if pending != nil {
		c.writeEnd(pending)
		return
	}
	for sess != nil {
		items := sess.Pull()
		if len(items) == 0 {
			return
		}
		for i := range items {
			if !c.writeItem(&items[i]) {
				// The connection broke: the read loop sees it and the
				// session ends with the browser gone.
				sess.Release(items)
				return
			}
		}
		sess.Release(items)
	}
}

// writeItem writes one item from the session, and reports whether the
// connection is still good for more.
func (c *conn) writeItem(it *bridge.Item) bool {
	if it.End != nil {
		c.writeEnd(it.End)
		return false
	}
	switch it.Kind {
	case xmppclient.EventHeader:
		return c.writeOpen(&it.Header) == nil
	case xmppclient.EventElement, xmppclient.EventStreamError:
		if it.NS == "" {
			return c.c.WriteText(it.Data) == nil
		}
		return c.c.WriteTextParts(it.Data[:it.NSAt], stringBytes(it.NS), it.Data[it.NSAt:]) == nil
	}
	return true
}

func (c *conn) writeOpen(h *xmppclient.Header) error {
	c.opened = true
	return c.c.WriteText(appendOpen(nil, h))
}

// writeEnd writes the end of the stream: a header of the bridge's own if the
// browser never got one, the stream error if the reason is one, <close/>
// (RFC 7395 §3.6), and the WebSocket close frame. The read loop then waits,
// bounded, for the browser's close frame.
func (c *conn) writeEnd(e *bridge.CloseError) {
	if e.Reason == bridge.ReasonShutdown && c.h.cfg.DrainURI != "" {
		// A drain with somewhere to go: the browser moves there (and
		// resumes, where its stream allows).
		e = &bridge.CloseError{Reason: bridge.ReasonSeeOther, URI: c.h.cfg.DrainURI}
	}
	if e.Reason != bridge.ReasonGone {
		// Each write only if the one before went out: after a failed
		// write the connection is closed, and Finish has nothing to send.
		var err error
		if !c.opened {
			err = c.writeOpen(&xmppclient.Header{ID: newID(), Version: "1.0"})
		}
		if cond := e.StreamCondition(); cond != "" && err == nil {
			err = c.c.WriteText(bridge.AppendStreamError(nil, cond, e.Text))
		}
		if err == nil {
			_ = c.c.WriteText(appendClose(nil, e.URI))
		}
	}
	c.c.Finish(e.Reason.WebSocketCode(), closeText(e))
}

// closeText is the close frame's reason.
func closeText(e *bridge.CloseError) string {
	if s := e.StreamCondition(); s != "" {
		return s
	}
	return "stream closed"
}

// stringBytes views s as bytes without copying; the writer only reads it.
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
