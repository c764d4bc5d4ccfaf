package jsonapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xmppbridge/xmppbridge/bridge"
)

// loginTimeout bounds how long a new WebSocket may take to send its login.
const loginTimeout = 30 * time.Second

// serveWebSocket serves JSON frames over one WebSocket: the handler's
// goroutine reads, one writer goroutine writes (pings included).
func (h *Handler) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	if !websocket.IsWebSocketUpgrade(r) {
		h.reject(w, r, http.StatusBadRequest, errBadRequest, "a WebSocket upgrade is expected here")
		return
	}
	if !slices.Contains(websocket.Subprotocols(r), Subprotocol) {
		h.reject(w, r, http.StatusBadRequest, errBadRequest, "the WebSocket subprotocol "+Subprotocol+" is required")
		return
	}
	if !h.enter(false) {
		h.reject(w, r, http.StatusServiceUnavailable, errShutdown, "the bridge is shutting down")
		return
	}
	defer h.leave()
	ws, err := h.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // answered by the upgrader's Error
	}
	defer ws.Close()
	// The limit is on stanzas as XML (send checks it, with a too-large
	// error frame); JSON escaping may make a frame longer than that.
	ws.SetReadLimit(int64(h.cfg.MaxFrameBytes)*2 + 4096)

	s := h.loginOverWebSocket(ws, r)
	if s == nil {
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.writeWebSocket(ws, s)
	}()
	alive := func() {
		if !s.closingWS.Load() { // after the close, the deadline stays
			_ = ws.SetReadDeadline(time.Now().Add(2 * h.cfg.PingInterval))
		}
	}
	alive()
	ws.SetPongHandler(func(string) error { alive(); return nil })
	for {
		typ, msg, err := ws.ReadMessage()
		if err != nil {
			s.bs.End(&bridge.CloseError{Reason: bridge.ReasonGone, Err: err})
			break
		}
		alive()
		if typ != websocket.TextMessage {
			s.report(apiError{code: errBadJSON, text: "frames are text messages"})
			continue
		}
		s.send([]json.RawMessage{msg})
	}
	<-done
	h.forget(s)
}

// loginOverWebSocket reads frames until one logs in. Frames that cannot
// get errors and another chance; refused credentials end the connection.
func (h *Handler) loginOverWebSocket(ws *websocket.Conn, r *http.Request) *session {
	deadline := time.Now().Add(loginTimeout)
	for {
		_ = ws.SetReadDeadline(deadline)
		typ, msg, err := ws.ReadMessage()
		if err != nil {
			return nil
		}
		var e *apiError
		var f *loginFrame
		if typ != websocket.TextMessage {
			e = &apiError{code: errBadJSON, text: "frames are text messages"}
		} else {
			f, e = parseLogin(msg)
		}
		var s *session
		if e == nil {
			s, e = h.login(r.Context(), r, f, h.newSession(""))
		}
		if e == nil {
			h.mu.Lock()
			closing := h.closing
			if !closing {
				h.sockets[s] = ws
			}
			h.mu.Unlock()
			if !closing {
				return s
			}
			// Shutdown began during the login: it did not see this one.
			s.bs.End(&bridge.CloseError{Reason: bridge.ReasonShutdown})
			e = &apiError{code: errShutdown, id: f.ID, text: "the bridge is shutting down"}
		}
		if h.cfg.OnReject != nil {
			h.cfg.OnReject(r, 0, e.code, e.text)
		}
		b := errorFrame(nil, e.code, e.id, e.text)
		_ = ws.SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout))
		if ws.WriteMessage(websocket.TextMessage, b) != nil {
			return nil
		}
		if code, ok := fatalLogin(e.code); ok {
			h.closeWebSocket(ws, closeFrame(nil, e.code, e.text), code)
			return nil
		}
	}
}

// fatalLogin reports whether a failed login ends the connection, and the
// close code it ends with.
func fatalLogin(code string) (int, bool) {
	switch code {
	case errNotAuthorized, errBadToken, errEncryptionRequired, errHostUnknown:
		return websocket.ClosePolicyViolation, true
	case errShutdown:
		return websocket.CloseGoingAway, true
	case errRemoteFailed, errInternal:
		return websocket.CloseInternalServerErr, true
	case errResource:
		return websocket.CloseTryAgainLater, true
	}
	return 0, false
}

// writeWebSocket is the connection's one writer: frames as they come,
// pings while idle, and at the session's end the close frame and the close
// handshake.
func (h *Handler) writeWebSocket(ws *websocket.Conn, s *session) {
	ping := time.NewTicker(h.cfg.PingInterval)
	defer ping.Stop()
	for {
		s.lp.Lock()
		s.fillLocked()
		out := s.log
		s.log, s.bytes = nil, 0
		ended, end := s.ended, s.end
		ch := s.changed
		s.lp.Unlock()

		for i, f := range out {
			if ended && i == len(out)-1 {
				s.closingWS.Store(true)
				h.closeWebSocket(ws, f.data, end.Reason.WebSocketCode())
				return
			}
			_ = ws.SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout))
			if err := ws.WriteMessage(websocket.TextMessage, f.data); err != nil {
				s.bs.End(&bridge.CloseError{Reason: bridge.ReasonGone, Err: err})
				_ = ws.Close() // unblocks the reader
				return
			}
		}
		select {
		case <-ch:
		case <-ping.C:
			if err := ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(h.cfg.WriteTimeout)); err != nil {
				s.bs.End(&bridge.CloseError{Reason: bridge.ReasonGone, Err: err})
				_ = ws.Close()
				return
			}
		case <-h.ctx.Done():
			_ = ws.Close()
			return
		}
	}
}

// closeWebSocket sends the last frame and the close message, waits briefly
// for the browser's close and closes the connection (which also ends the
// reader).
func (h *Handler) closeWebSocket(ws *websocket.Conn, last []byte, code int) {
	deadline := time.Now().Add(h.cfg.WriteTimeout)
	_ = ws.SetWriteDeadline(deadline)
	if ws.WriteMessage(websocket.TextMessage, last) == nil {
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), deadline)
	}
	// The reader sees the browser's close, or the deadline, and returns;
	// a browser that keeps talking instead is cut off all the same.
	_ = ws.SetReadDeadline(time.Now().Add(time.Second))
	time.AfterFunc(2*time.Second, func() { _ = ws.Close() })
}
