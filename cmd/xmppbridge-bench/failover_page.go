package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// A page is the failover run's browser page on the JSON API: it keeps
// what docs/json-api.md ("Resuming a session") asks of a page that is to
// survive its bridge process — its resume token, the number of the last
// frame it has, h (the server's stanzas among them), the latest
// confirmation of its own frames (acked), and its own frames until they
// are confirmed — and when its connection fails it resumes with them on a
// fresh connection of its transport, sending again the frames after
// received. A resume refused (item-not-found, bad-token, bad-request) or
// not answered within the bound is a fresh login instead.

// pageConn is one connection of a page: a WebSocket, an events stream
// with its posts, or a long-poll window. send and recv may run at once;
// each is called by one goroutine at a time.
type pageConn interface {
	// send sends one of the page's frames.
	send(frame []byte) error
	// recv returns the next numbered frame the page has not had.
	recv() ([]byte, error)
	// last is the number of the last frame recv returned; read it once
	// recv has failed.
	last() int64
	// sid is the session's sid on the HTTP transports, "" on a WebSocket.
	sid() string
	// abort drops the connection without a word; close ends the session.
	abort()
	close()
}

// pageOpen is what the answer to a login or a resume said.
type pageOpen struct {
	token    string
	received int64 // resumed: the page's frames the bridge took
	ackN     int64 // resumed: the confirmation it carried
	ackH     int64
}

// pageDialer opens pageConns of one transport, each logged in or resumed
// as hello says. acked takes in each confirmation of the page's frames;
// handled is the page's h, for a transport that must answer the server's
// requests for it (XEP-0198's <r/>).
type pageDialer interface {
	open(ctx context.Context, src net.IP, hello pageHello, acked func(n, h int64), handled func() int64) (pageConn, pageOpen, error)
}

// pageHello is what a page opens a connection with: a fresh login, or a
// resume of the session token names with the page's counts.
type pageHello struct {
	domain, user, password string
	resume                 bool
	token                  string
	last, h, ackN, ackH    int64
}

// jsonFrame is the JSON API's login or resume frame for hello.
func (hello pageHello) jsonFrame() []byte {
	if !hello.resume {
		return loginFrame(hello.domain, hello.user, hello.password)
	}
	return fmt.Appendf(nil, `{"kind":"resume","token":%q,"last":%d,"h":%d,"acked":{"n":%d,"h":%d}}`, hello.token, hello.last, hello.h, hello.ackN, hello.ackH)
}

// errRefused is a resume the bridge refused for good: log in again.
type errRefused struct{ code string }

func (e *errRefused) Error() string { return "refused: " + e.code }

// refusedCode tells a final refusal of a login or resume (an error frame
// or an HTTP error with one of the codes after which a page logs in
// again) from a failure worth trying again.
func refusedCode(code string) error {
	switch code {
	case "item-not-found", "bad-token", "bad-request", "not-authorized":
		return &errRefused{code: code}
	}
	return errors.New(code)
}

// parseOpen reads the frame that answers a login (session) or a resume
// (resumed).
func parseOpen(el []byte) (pageOpen, error) {
	var f struct {
		Kind, Token, Code, Text string
		Received                int64
		Acked                   *struct{ N, H int64 }
	}
	if err := json.Unmarshal(el, &f); err != nil {
		return pageOpen{}, fmt.Errorf("json: %w: %.200s", err, el)
	}
	switch {
	case (f.Kind == "session" || f.Kind == "resumed") && f.Token != "":
		o := pageOpen{token: f.Token, received: f.Received}
		if f.Acked != nil {
			o.ackN, o.ackH = f.Acked.N, f.Acked.H
		}
		return o, nil
	case f.Kind == "error" || f.Kind == "close":
		return pageOpen{}, refusedCode(f.Code)
	}
	return pageOpen{}, fmt.Errorf("json: got %.200s, want a session or resumed frame", el)
}

// ackedOf reads the "acked" of an HTTP answer.
func ackedOf(data []byte) (n, h int64, ok bool) {
	i := bytes.Index(data, []byte(`"acked":`))
	if i < 0 {
		return 0, 0, false
	}
	var a struct{ N, H int64 }
	if err := json.NewDecoder(bytes.NewReader(data[i+len(`"acked":`):])).Decode(&a); err != nil {
		return 0, 0, false
	}
	return a.N, a.H, true
}

// isStanzaFrame reports whether a down frame counts in h: the frames of
// kind message, presence and iq, and the error frames with "stanza":true.
func isStanzaFrame(el []byte) bool {
	for _, k := range []string{`{"kind":"message"`, `{"kind":"presence"`, `{"kind":"iq"`} {
		if bytes.HasPrefix(el, []byte(k)) {
			return true
		}
	}
	return bytes.HasPrefix(el, []byte(`{"kind":"error"`)) && bytes.Contains(el, []byte(`"stanza":true`))
}

// WebSocket.

type wsPageDialer struct{ url string }

type wsPageConn struct {
	c   *websocket.Conn
	wmu sync.Mutex // the sender's frames and the reader's acks
	n   int64      // the reader's: the last frame's number

	acked func(n, h int64)
}

func (d *wsPageDialer) open(ctx context.Context, src net.IP, hello pageHello, acked func(n, h int64), _ func() int64) (pageConn, pageOpen, error) {
	first, resume, last := hello.jsonFrame(), hello.resume, hello.last
	ws, err := dialWebSocket(ctx, d.url, jsonSubprotocol, src)
	if err != nil {
		return nil, pageOpen{}, err
	}
	dl, _ := ctx.Deadline()
	ws.SetReadDeadline(dl)
	ws.SetWriteDeadline(dl)
	if err := ws.WriteMessage(websocket.TextMessage, first); err != nil {
		ws.Close()
		return nil, pageOpen{}, err
	}
	_, el, err := ws.ReadMessage()
	if err != nil {
		ws.Close()
		return nil, pageOpen{}, err
	}
	o, err := parseOpen(el)
	if err != nil {
		ws.Close()
		return nil, pageOpen{}, err
	}
	ws.SetReadDeadline(time.Time{})
	ws.SetWriteDeadline(time.Time{})
	c := &wsPageConn{c: ws, n: 1, acked: acked}
	if resume {
		c.n = last // the resumed frame's first is last+1
	}
	return c, o, nil
}

func (c *wsPageConn) send(frame []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.c.SetWriteDeadline(time.Now().Add(ioTimeout))
	return c.c.WriteMessage(websocket.TextMessage, frame)
}

// recv reads until a numbered frame, takes in down acks, and acknowledges
// each numbered frame at once.
func (c *wsPageConn) recv() ([]byte, error) {
	for {
		typ, el, err := c.c.ReadMessage()
		if err != nil {
			return nil, err
		}
		if typ != websocket.TextMessage {
			continue
		}
		var f struct {
			Kind, Code string
			N, H       int64
		}
		if bytes.HasPrefix(el, []byte(`{"kind":"ack"`)) || bytes.HasPrefix(el, []byte(`{"kind":"error"`)) {
			json.Unmarshal(el, &f)
		}
		switch {
		case f.Kind == "ack":
			c.acked(f.N, f.H)
			continue
		case f.Kind == "error" && f.Code == "conflict":
			return nil, errors.New("json: conflict: the session was resumed on another connection")
		}
		c.n++
		c.ack() // a failed write fails the read too
		return el, nil
	}
}

func (c *wsPageConn) ack() {
	b := strconv.AppendInt([]byte(`{"kind":"ack","n":`), c.n, 10)
	c.send(append(b, '}'))
}

func (c *wsPageConn) last() int64 { return c.n }
func (c *wsPageConn) sid() string { return "" }
func (c *wsPageConn) abort()      { c.c.Close() }
func (c *wsPageConn) close() {
	c.send([]byte(`{"kind":"close"}`))
	c.wmu.Lock()
	c.c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
	c.wmu.Unlock()
	c.c.Close()
}

// Server-Sent Events.

type ssePageDialer struct{ url string }

type ssePageConn struct{ s *jsonSSEStream }

func (d *ssePageDialer) open(ctx context.Context, src net.IP, hello pageHello, acked func(n, h int64), _ func() int64) (pageConn, pageOpen, error) {
	first, resume, last := hello.jsonFrame(), hello.resume, hello.last
	st, err := (&jsonSSEPath{url: d.url}).Dial(ctx, src)
	if err != nil {
		return nil, pageOpen{}, err
	}
	s := st.(*jsonSSEStream)
	s.answered = func(data []byte) {
		if n, h, ok := ackedOf(data); ok {
			acked(n, h)
		}
	}
	b := strconv.AppendInt([]byte(`{"rid":`), s.rid, 10)
	b = append(append(append(b, `,"frames":[`...), first...), "]}"...)
	status, data, err := s.po.post(ctx, b)
	if err != nil {
		s.abort()
		return nil, pageOpen{}, err
	}
	a, o, err := parseHTTPOpen(status, data, resume)
	if err != nil {
		s.abort()
		return nil, pageOpen{}, err
	}
	s.rid++
	s.sid = a.SID
	frames := a.Frames
	if !resume {
		frames = frames[1:] // the session frame
	}
	for _, f := range frames {
		s.early = append(s.early, []byte(f))
	}
	s.last.Store(a.First + int64(len(a.Frames)) - 1)
	if resume && len(a.Frames) == 0 {
		s.last.Store(last)
	}
	if err := s.openEvents(ctx); err != nil {
		s.abort()
		return nil, pageOpen{}, err
	}
	return &ssePageConn{s: s}, o, nil
}

// parseHTTPOpen reads the answer to a login or resume post: the session
// frame first among the frames, or the resumed object beside them.
func parseHTTPOpen(status int, data []byte, resume bool) (*jsonAnswer, pageOpen, error) {
	a, err := parseJSONAnswer(status, data)
	var ae *apiError
	if errors.As(err, &ae) && ae.code != "" {
		return nil, pageOpen{}, refusedCode(ae.code)
	}
	if err != nil {
		return nil, pageOpen{}, err
	}
	if !resume {
		if len(a.Frames) == 0 {
			return nil, pageOpen{}, fmt.Errorf("json: no session frame in %.200s", data)
		}
		o, err := parseOpen(a.Frames[0])
		return a, o, err
	}
	var r struct{ Resumed json.RawMessage }
	if err := json.Unmarshal(data, &r); err != nil || r.Resumed == nil {
		return nil, pageOpen{}, fmt.Errorf("json: no resumed object in %.200s", data)
	}
	o, err := parseOpen(r.Resumed)
	return a, o, err
}

func (c *ssePageConn) send(frame []byte) error { return c.s.Send(frame) }
func (c *ssePageConn) recv() ([]byte, error)   { return c.s.Recv() }
func (c *ssePageConn) last() int64             { return c.s.last.Load() }
func (c *ssePageConn) sid() string             { return c.s.sid }
func (c *ssePageConn) abort()                  { c.s.abort() }
func (c *ssePageConn) close()                  { c.s.Close() }

// Long-poll.

type pollPageDialer struct{ url string }

type pollPageConn struct{ w *window }

// pagePollCodec is the long-poll's bodies, telling the page each answer's
// acked and keeping the first answer for open.
type pagePollCodec struct {
	jsonPollCodec
	acked func(n, h int64)
	first *[]byte
	mu    *sync.Mutex
}

func (c pagePollCodec) parseAnswer(status int, data []byte) (windowAnswer, error) {
	c.mu.Lock()
	if *c.first == nil {
		*c.first = append([]byte{}, data...)
	}
	c.mu.Unlock()
	ans, err := c.jsonPollCodec.parseAnswer(status, data)
	if err == nil {
		if n, h, ok := ackedOf(data); ok {
			c.acked(n, h)
		}
	}
	return ans, err
}

func (d *pollPageDialer) open(ctx context.Context, src net.IP, hello pageHello, acked func(n, h int64), _ func() int64) (pageConn, pageOpen, error) {
	first, resume, last := hello.jsonFrame(), hello.resume, hello.last
	po, err := newPoster(strings.TrimSuffix(d.url, "/")+"/poll", src, (jsonPollWait+30)*time.Second)
	if err != nil {
		return nil, pageOpen{}, err
	}
	po.ctype = "application/json"
	var firstAnswer []byte
	codec := pagePollCodec{acked: acked, first: &firstAnswer, mu: new(sync.Mutex)}
	rid := 1 + rand.Int64N(1<<40)
	w := newWindow(po, codec, rid)
	if resume {
		w.taken = last
	}
	b := strconv.AppendInt([]byte(`{"rid":`), rid, 10)
	b = append(b, `,"wait":`+strconv.Itoa(jsonPollWait)+`,"hold":1,"frames":[`...)
	b = append(append(b, first...), "]}"...)
	if err := w.create(ctx, b); err != nil {
		w.abort()
		var ae *apiError
		if errors.As(err, &ae) && ae.code != "" {
			return nil, pageOpen{}, refusedCode(ae.code)
		}
		return nil, pageOpen{}, err
	}
	codec.mu.Lock()
	data := firstAnswer
	codec.mu.Unlock()
	_, o, err := parseHTTPOpen(200, data, resume)
	if err != nil {
		w.abort()
		return nil, pageOpen{}, err
	}
	if !resume {
		if _, err := w.recv(ctx); err != nil { // the session frame
			w.abort()
			return nil, pageOpen{}, err
		}
	}
	return &pollPageConn{w: w}, o, nil
}

func (c *pollPageConn) send(frame []byte) error { return c.w.Send(frame) }
func (c *pollPageConn) recv() ([]byte, error)   { return c.w.Recv() }
func (c *pollPageConn) last() int64 {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	return c.w.taken
}
func (c *pollPageConn) sid() string {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	return c.w.sid
}
func (c *pollPageConn) abort() { c.w.abort() }
func (c *pollPageConn) close() { c.w.Close() }
