package wsframe

import (
	"crypto/rand"
	"encoding/hex"
	"time"
	"unsafe"

	"github.com/gorilla/websocket"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// writeLoop writes whatever is waiting and exits when nothing is. It is the
// only goroutine writing to the WebSocket; wake starts it. Write errors are
// not handled here: a broken connection ends the read loop, which ends the
// session.
func (c *conn) writeLoop() {
	defer c.h.wg.Done()
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
		pending := c.pending
		c.pending = nil
		sess := c.sess
		c.mu.Unlock()

		deadline := time.Now().Add(c.h.cfg.WriteTimeout)
		if pong != nil {
			_ = c.ws.WriteControl(websocket.PongMessage, pong, deadline)
		}
		if ping {
			_ = c.ws.WriteControl(websocket.PingMessage, nil, deadline)
		}
		if pending != nil {
			c.writeEnd(pending)
			continue
		}
		for sess != nil {
			items := sess.Pull(nil)
			if len(items) == 0 {
				break
			}
			_ = c.ws.SetWriteDeadline(time.Now().Add(c.h.cfg.WriteTimeout))
			for i := range items {
				c.writeItem(&items[i])
			}
			sess.Release(items)
		}
	}
}

// writeItem writes one item from the session.
func (c *conn) writeItem(it *bridge.Item) {
	if it.End != nil {
		c.writeEnd(it.End)
		return
	}
	switch it.Kind {
	case xmppclient.EventHeader:
		c.writeOpen(&it.Header)
	case xmppclient.EventElement, xmppclient.EventStreamError:
		w, err := c.ws.NextWriter(websocket.TextMessage)
		if err != nil {
			return
		}
		if it.NS == "" {
			_, _ = w.Write(it.Data)
		} else {
			_, _ = w.Write(it.Data[:it.NSAt])
			_, _ = w.Write(stringBytes(it.NS))
			_, _ = w.Write(it.Data[it.NSAt:])
		}
		_ = w.Close()
	}
}

func (c *conn) writeOpen(h *xmppclient.Header) {
	c.opened = true
	_ = c.ws.WriteMessage(websocket.TextMessage, appendOpen(nil, h))
}

// writeEnd writes the end of the stream: a header of the bridge's own if the
// browser never got one, the stream error if the reason is one, <close/>
// (RFC 7395 §3.6), and the WebSocket close frame. The read loop then waits,
// bounded, for the browser's close frame.
func (c *conn) writeEnd(e *bridge.CloseError) {
	if e.Reason != bridge.ReasonGone {
		if !c.opened {
			c.writeOpen(&xmppclient.Header{ID: newID(), Version: "1.0"})
		}
		if cond := e.StreamCondition(); cond != "" {
			_ = c.ws.WriteMessage(websocket.TextMessage, bridge.AppendStreamError(nil, cond, e.Text))
		}
		_ = c.ws.WriteMessage(websocket.TextMessage, appendClose(nil, e.URI))
	}
	msg := websocket.FormatCloseMessage(e.Reason.WebSocketCode(), closeText(e))
	_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.h.cfg.WriteTimeout))
	_ = c.ws.SetReadDeadline(time.Now().Add(closeWait))
	c.mu.Lock()
	c.finished = true
	c.timer.Stop()
	c.mu.Unlock()
	close(c.done)
}

// closeText is the close frame's reason: short, as a control frame carries
// at most 123 bytes of it.
func closeText(e *bridge.CloseError) string {
	s := e.StreamCondition()
	if s == "" {
		s = "stream closed"
	}
	if len(s) > 120 {
		s = s[:120]
	}
	return s
}

// stringBytes views s as bytes without copying; the writer only reads it.
func stringBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

func newID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
