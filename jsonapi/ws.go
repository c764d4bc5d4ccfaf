package jsonapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/wsconn"
)

// loginTimeout bounds how long a new WebSocket may take to send its login.
const loginTimeout = 30 * time.Second

// wsConn is the JSON framing of one WebSocket: a login first, then frames
// both ways. The connection itself — parked reader, writer started on
// demand, keepalive — is wsconn's.
type wsConn struct {
	h          *Handler
	c          *wsconn.Conn
	passwordOK bool   // the upgrade request may carry a password
	remote     string // its RemoteAddr, for OnReject

	mu      sync.Mutex
	s       *session // once logged in
	gen     uint32   // the session's generation it was attached at
	out     [][]byte // frames to write before there is a session (login errors)
	fatal   int      // after out, close with this code; 0: go on
	closing bool     // the close frame is being or has been written
	timer   *time.Timer
}

// serveWebSocket serves JSON frames over one WebSocket.
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
	wc := &wsConn{h: h, passwordOK: h.passwordAllowed(r), remote: r.RemoteAddr}
	c := h.ws.Upgrade(w, r, func(c *wsconn.Conn) wsconn.Framing {
		wc.c = c
		return wc
	})
	if c == nil {
		h.leave()
		return // answered by the upgrader's Error
	}
	wc.mu.Lock()
	wc.timer = time.AfterFunc(loginTimeout, wc.loginTimedOut)
	wc.mu.Unlock()
	c.Start()
}

// Message handles one message from the browser, on the read loop: the
// login, then frames to send.
func (wc *wsConn) Message(typ int, payload []byte, err error) {
	wc.mu.Lock()
	s, gen, closing := wc.s, wc.gen, wc.closing
	wc.mu.Unlock()
	switch {
	case closing:
		return // draining until the browser's close frame
	case errors.Is(err, wsconn.ErrTooBig):
		if s != nil {
			s.bs.End(&bridge.CloseError{Reason: bridge.ReasonTooBig, Text: "message over the size limit"})
			return
		}
		wc.refuse(&apiError{code: errTooLarge, text: "message over the size limit"}, websocket.CloseMessageTooBig)
		return
	case err != nil:
		return // the read loop ends next
	case s != nil && typ != websocket.TextMessage:
		s.report(apiError{code: errBadJSON, text: "frames are text messages"})
	case s != nil:
		s.send([]json.RawMessage{payload}, gen)
	default:
		wc.login(typ, payload)
	}
}

// login reads a message before the session exists: a login, or an error
// frame and another chance; refused credentials end the connection.
func (wc *wsConn) login(typ int, payload []byte) {
	h := wc.h
	var e *apiError
	var f *loginFrame
	if typ != websocket.TextMessage {
		e = &apiError{code: errBadJSON, text: "frames are text messages"}
	} else {
		f, e = parseLogin(payload)
	}
	var s *session
	if e == nil && f.Kind == "resume" {
		e = wc.resume(f)
		if e == nil {
			return
		}
	} else if e == nil {
		// The upgrade request's context ends with its handler: the
		// login runs under the Handler's.
		s, e = h.login(bridge.WithClient(h.ctx, wc.remote), wc.passwordOK, f, h.newSession(""))
	}
	if e == nil {
		if wc.attach(s, nil) {
			return
		}
		// Shutdown began during the login: it did not see this one.
		s.bs.End(&bridge.CloseError{Reason: bridge.ReasonShutdown})
		e = &apiError{code: errShutdown, id: f.ID, text: "the bridge is shutting down"}
	}
	if h.cfg.OnReject != nil {
		// The upgrade request is not kept for the connection's life: its
		// address stands for it.
		h.cfg.OnReject(&http.Request{RemoteAddr: wc.remote, Header: http.Header{}}, 0, e.code, e.text)
	}
	code, _ := fatalLogin(e.code)
	if f != nil && f.Kind == "resume" && e.code != errShutdown {
		code = 0 // the page may log in on this connection instead
	}
	wc.refuse(e, code)
}

// attach makes the connection serve s, after first (the resumed frame,
// for a resume) and the frames after s.sent; false when the Handler is
// shutting down.
func (wc *wsConn) attach(s *session, first []byte) bool {
	h := wc.h
	h.mu.Lock()
	closing := h.closing
	if !closing {
		h.sockets[s] = wc
	}
	h.mu.Unlock()
	if closing {
		return false
	}
	s.lp.Lock()
	gen := s.gen
	s.lp.Unlock()
	wc.mu.Lock()
	wc.s, wc.gen = s, gen
	if first != nil {
		wc.out = append(wc.out, first)
	}
	wc.timer.Stop()
	wc.mu.Unlock()
	s.lp.Lock()
	s.wsc = wc
	s.ws = wc.c
	s.lp.Unlock()
	wc.c.Wake() // the session frame, or the resumed one and what follows
	return true
}

// resume continues a session over this connection (docs/json-api.md,
// "Resuming a session").
func (wc *wsConn) resume(f *loginFrame) *apiError {
	s, received, e := wc.h.resume(f)
	wc.h.stats.resumed(e)
	if e != nil {
		return e
	}
	s.lp.Lock()
	after := s.takeOverLocked()
	wc.h.rename(s, "")
	s.sid = "" // no longer served over HTTP, if it was
	n, hc := s.confirmedLocked()
	first := resumedFrame(nil, s.jid, "", f.ID, wc.h.tokenLocked(s), s.sent+1, received, n, hc, wc.h.cfg.ResumeWindow)
	s.lp.Unlock()
	after()
	s.flushHandled()
	if !wc.attach(s, first) {
		s.bs.End(&bridge.CloseError{Reason: bridge.ReasonShutdown})
		return &apiError{code: errShutdown, id: f.ID, text: "the bridge is shutting down"}
	}
	return nil
}

// takenOver is told that the session was resumed by another connection:
// this one hears conflict and closes.
func (wc *wsConn) takenOver() {
	wc.mu.Lock()
	wc.s = nil
	wc.out = append(wc.out, errorFrame(nil, errConflict, "", "the session was resumed by another connection"))
	wc.fatal, wc.closing = websocket.ClosePolicyViolation, true
	wc.mu.Unlock()
	wc.c.Wake()
}

// control writes b, a frame without a number (an ack), before the
// session's next frames.
func (wc *wsConn) control(b []byte) {
	wc.mu.Lock()
	wc.out = append(wc.out, b)
	wc.mu.Unlock()
	wc.c.Wake()
}

// refuse writes an error frame before any session and, with a close code,
// the close frame and the close.
func (wc *wsConn) refuse(e *apiError, code int) {
	wc.mu.Lock()
	wc.out = append(wc.out, errorFrame(nil, e.code, e.id, e.text))
	if code != 0 {
		wc.out = append(wc.out, closeFrame(nil, e.code, e.text))
		wc.fatal, wc.closing = code, true
	}
	wc.mu.Unlock()
	wc.c.Wake()
}

func (wc *wsConn) loginTimedOut() {
	wc.mu.Lock()
	s := wc.s
	wc.mu.Unlock()
	if s == nil {
		wc.c.Close() // the read loop ends, and with it the connection
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

// Flush writes what is waiting, on the connection's one writer: frames
// without a number first (login errors, acks), then the session's frames
// as they come, and at the session's end its close frame and the close.
func (wc *wsConn) Flush() {
	wc.mu.Lock()
	s, out, fatal := wc.s, wc.out, wc.fatal
	wc.out = nil
	wc.mu.Unlock()
	for i, b := range out {
		if wc.c.WriteText(b) != nil {
			return
		}
		if fatal != 0 && i == len(out)-1 {
			wc.c.Finish(fatal, "")
			return
		}
	}
	if s == nil {
		return
	}
	for {
		// Frames stay in the log until the page acknowledges them (an ack
		// frame): a resume sends again what it did not get.
		s.lp.Lock()
		if s.wsc != wc {
			s.lp.Unlock()
			return // resumed elsewhere
		}
		s.fillLocked()
		_, since := s.sinceLocked(s.sent)
		frames := append([]frame(nil), since...)
		if n := len(frames); n > 0 {
			s.sent = frames[n-1].n
		}
		ended, end := s.ended, s.end
		last := s.next - 1
		s.lp.Unlock()
		if len(frames) == 0 {
			return
		}
		for _, f := range frames {
			last := ended && f.n == last
			if last {
				wc.mu.Lock()
				wc.closing = true
				wc.mu.Unlock()
			}
			if wc.c.WriteText(f.data) != nil {
				return // the read loop sees the close and ends the session
			}
			if last {
				wc.c.Finish(end.Reason.WebSocketCode(), "")
				return
			}
		}
	}
}

// Closed is told that the browser's side ended: the session ends with the
// browser gone (unless something else ended it first), and the Handler
// forgets the connection.
func (wc *wsConn) Closed(err error) {
	wc.mu.Lock()
	s := wc.s
	wc.timer.Stop()
	wc.mu.Unlock()
	wc.h.leave()
	if s == nil {
		return
	}
	wc.h.mu.Lock()
	if wc.h.sockets[s] == wc {
		wc.h.sockets[s] = nil // detached, or forgotten below
	}
	wc.h.mu.Unlock()
	s.lp.Lock()
	mine := s.wsc == wc
	if mine {
		s.wsc, s.ws = nil, nil
	}
	// The page went away without ending the session: it waits for a
	// resume, unless the Handler offers none.
	detached := mine && s.detachLocked()
	s.lp.Unlock()
	if !mine || detached {
		return
	}
	wc.h.forget(s)
	s.bs.End(&bridge.CloseError{Reason: bridge.ReasonGone, Err: err}) // a no-op if it ended
}
