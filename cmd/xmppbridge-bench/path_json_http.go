package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The bridge's JSON API over HTTP (docs/json-api.md): long-polling with
// BOSH's rules (POST {base}/poll), and Server-Sent Events down with POSTs
// up (GET {base}/events, POST {base}/send). As on the JSON API over
// WebSocket, the bridge logs in upstream itself from a login frame, and the
// elements are JSON frames.

// jsonPollWait is the longest the bridge may hold a poll, in seconds: the
// bridge's default [json] max_wait.
const jsonPollWait = 30

// jsonPollPath is the JSON API's long-poll transport at base URL url
// (http://HOST:PORT/json).
type jsonPollPath struct {
	name, url string
}

func (p *jsonPollPath) Name() string { return p.name }

func (p *jsonPollPath) Dial(ctx context.Context, src net.IP) (Stream, error) {
	po, err := newPoster(strings.TrimSuffix(p.url, "/")+"/poll", src, (jsonPollWait+30)*time.Second)
	if err != nil {
		return nil, err
	}
	po.ctype = "application/json"
	return &jsonPollStream{newWindow(po, jsonPollCodec{}, 1+rand.Int64N(1<<40))}, nil
}

// jsonPollStream is one long-poll session: a request window whose bodies
// are JSON, whose answers number the frames, and whose requests acknowledge
// them.
type jsonPollStream struct {
	*window
}

func (s *jsonPollStream) Open(context.Context, string) ([]byte, error) {
	return nil, errNoXMPPStream
}

// Login sends the login frame on the session's first request, with hold 1
// as the bridge's web client asks, and waits for the session frame.
func (s *jsonPollStream) Login(ctx context.Context, domain, user, password string) (string, error) {
	s.mu.Lock()
	rid := s.rid
	s.mu.Unlock()
	b := strconv.AppendInt([]byte(`{"rid":`), rid, 10)
	b = append(b, `,"wait":`+strconv.Itoa(jsonPollWait)+`,"hold":1,"frames":[`...)
	b = append(b, loginFrame(domain, user, password)...)
	if err := s.create(ctx, append(b, "]}"...)); err != nil {
		return "", err
	}
	el, err := s.recv(ctx)
	if err != nil {
		return "", err
	}
	return sessionJID(el)
}

func (s *jsonPollStream) spelling() spelling { return jsonSpelling{} }

// jsonPollCodec is the long-poll's JSON bodies.
type jsonPollCodec struct{}

func (jsonPollCodec) appendRequest(b []byte, rid int64, sid string, _ bool, payload []byte, taken int64) []byte {
	b = appendPostHead(b, rid, sid, taken)
	if payload != nil {
		b = append(b, `,"frames":[`...)
		b = append(b, payload...)
		b = append(b, ']')
	}
	return append(b, '}')
}

func (jsonPollCodec) appendQueued(q, el []byte) []byte {
	if len(q) > 0 {
		q = append(q, ',')
	}
	return append(q, el...)
}

// appendTerminate sends the close frame: the bridge ends the session and
// answers with its own close frame.
func (jsonPollCodec) appendTerminate(b []byte, rid int64, sid string, taken int64) []byte {
	b = appendPostHead(b, rid, sid, taken)
	return append(b, `,"frames":[{"kind":"close"}]}`...)
}

func (jsonPollCodec) parseAnswer(status int, data []byte) (windowAnswer, error) {
	a, err := parseJSONAnswer(status, data)
	if err != nil {
		return windowAnswer{}, err
	}
	ans := windowAnswer{sid: a.SID, requests: a.Requests, first: a.First}
	for _, f := range a.Frames {
		ans.els = append(ans.els, []byte(f))
	}
	return ans, nil
}

// appendPostHead appends {"sid":…,"rid":…,"ack":… of a request after the
// first, without the closing brace.
func appendPostHead(b []byte, rid int64, sid string, taken int64) []byte {
	b = append(b, `{"sid":"`...)
	b = append(b, sid...) // the bridge's sids need no escaping
	b = strconv.AppendInt(append(b, `","rid":`...), rid, 10)
	return strconv.AppendInt(append(b, `,"ack":`...), taken, 10)
}

// jsonAnswer is an answer of the JSON API over HTTP, poll or send.
type jsonAnswer struct {
	SID      string            `json:"sid"`
	Requests int               `json:"requests"`
	RID      int64             `json:"rid"`
	First    int64             `json:"first"`
	Frames   []json.RawMessage `json:"frames"`
}

// An apiError is an HTTP error answer of the JSON API: its status and the
// error frame's code.
type apiError struct {
	status     int
	code, text string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("json: HTTP %d: %s: %s", e.status, e.code, e.text)
}

// parseJSONAnswer reads an answer; an HTTP error is an *apiError.
func parseJSONAnswer(status int, data []byte) (*jsonAnswer, error) {
	if status != http.StatusOK {
		var f struct{ Code, Text string }
		if err := json.Unmarshal(data, &f); err != nil || f.Code == "" {
			return nil, &apiError{status: status, text: fmt.Sprintf("%.200s", data)}
		}
		return nil, &apiError{status: status, code: f.Code, text: f.Text}
	}
	var a jsonAnswer
	if err := json.Unmarshal(data, &a); err != nil {
		return nil, fmt.Errorf("json: %w: %.200s", err, data)
	}
	return &a, nil
}

// jsonSSEPath is the JSON API's Server-Sent Events transport at base URL
// url (http://HOST:PORT/json).
type jsonSSEPath struct {
	name, url string
}

func (p *jsonSSEPath) Name() string { return p.name }

func (p *jsonSSEPath) Dial(ctx context.Context, src net.IP) (Stream, error) {
	base := strings.TrimSuffix(p.url, "/")
	po, err := newPoster(base+"/send", src, ioTimeout)
	if err != nil {
		return nil, err
	}
	po.ctype = "application/json"
	ev, err := newPoster(base+"/events", src, ioTimeout)
	if err != nil {
		return nil, err
	}
	return &jsonSSEStream{po: po, events: ev, rid: 1 + rand.Int64N(1<<40)}, nil
}

// jsonSSEStream is one events session as a browser's EventSource and
// fetch keep it: one events stream down, resumed with Last-Event-ID when
// it drops, and one POST up at a time, each with the next rid and an ack
// of the events taken.
type jsonSSEStream struct {
	po     *poster // the posts
	events *poster // its address and dialer, for the events stream

	sendMu sync.Mutex // one post at a time, so rids arrive in order
	rid    int64      // the next post's
	sid    string     // set by Login, read-only after

	last atomic.Int64 // the highest event id taken

	// answered, if set, is told each post's answer (the failover page
	// reads its acked); set before the first post.
	answered func(data []byte)

	mu      sync.Mutex // conn and closing, for Close and abort
	conn    net.Conn   // the events stream's connection
	closing bool

	// The reader's own.
	br      *bufio.Reader // the events stream's body, line by line
	early   [][]byte      // frames of the login's answer after the session frame
	data    []byte        // the last frame Recv returned
	resumes int           // the events stream reopened since an event came
}

func (s *jsonSSEStream) Open(context.Context, string) ([]byte, error) {
	return nil, errNoXMPPStream
}

func (s *jsonSSEStream) spelling() spelling { return jsonSpelling{} }

// Login posts the login frame, reads the session frame from the answer
// and opens the events stream after it.
func (s *jsonSSEStream) Login(ctx context.Context, domain, user, password string) (string, error) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	b := strconv.AppendInt([]byte(`{"rid":`), s.rid, 10)
	b = append(b, `,"frames":[`...)
	b = append(b, loginFrame(domain, user, password)...)
	status, data, err := s.po.post(ctx, append(b, "]}"...))
	if err != nil {
		return "", err
	}
	a, err := parseJSONAnswer(status, data)
	if err != nil {
		return "", err
	}
	s.rid++
	if len(a.Frames) == 0 {
		return "", fmt.Errorf("json: no session frame in %.200s", data)
	}
	jid, err := sessionJID(a.Frames[0])
	if err != nil {
		return "", err
	}
	for _, f := range a.Frames[1:] {
		s.early = append(s.early, []byte(f))
	}
	s.sid = a.SID
	s.last.Store(a.First + int64(len(a.Frames)) - 1)
	if err := s.openEvents(ctx); err != nil {
		return "", err
	}
	return jid, nil
}

// openEvents opens the events stream from the event after the last one
// taken, as EventSource does with Last-Event-ID.
func (s *jsonSSEStream) openEvents(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return errors.New("json: events: closed")
	}
	s.mu.Unlock()
	c, err := s.events.dialer.DialContext(ctx, "tcp", s.events.addr)
	if err != nil {
		return err
	}
	req := "GET " + s.events.path + "?sid=" + s.sid + " HTTP/1.1\r\nHost: " + s.events.host +
		"\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\nLast-Event-ID: " + strconv.FormatInt(s.last.Load(), 10) + "\r\n\r\n"
	c.SetDeadline(time.Now().Add(ioTimeout))
	br := bufio.NewReaderSize(c, 4096)
	var resp *http.Response
	if _, err = io.WriteString(c, req); err == nil {
		resp, err = http.ReadResponse(br, nil)
	}
	if err != nil {
		c.Close()
		return fmt.Errorf("json: events: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		c.Close()
		_, err := parseJSONAnswer(resp.StatusCode, data)
		return fmt.Errorf("json: events: %w", err)
	}
	c.SetDeadline(time.Time{})
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		c.Close()
		return errors.New("json: events: closed")
	}
	s.conn = c
	s.mu.Unlock()
	s.br = bufio.NewReaderSize(resp.Body, 4096)
	return nil
}

// Recv returns the next event's frame. A stream that ends is opened
// again from the last event taken, as EventSource does, a few times; once
// the session is over the bridge answers 404, which ends Recv's stream.
func (s *jsonSSEStream) Recv() ([]byte, error) {
	if len(s.early) > 0 {
		s.data = append(s.data[:0], s.early[0]...)
		s.early = s.early[1:]
		return s.data, nil
	}
	var id int64 = -1
	s.data = s.data[:0]
	for {
		line, err := s.br.ReadSlice('\n')
		if err != nil {
			if err := s.reopen(err); err != nil {
				return nil, err
			}
			id, s.data = -1, s.data[:0]
			continue
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		switch {
		case len(line) == 0:
			if len(s.data) == 0 {
				continue
			}
			if id >= 0 && id <= s.last.Load() {
				// Sent again after a resume: taken already.
				id, s.data = -1, s.data[:0]
				continue
			}
			if id >= 0 {
				s.last.Store(id)
			}
			s.resumes = 0
			return s.data, nil
		case bytes.HasPrefix(line, []byte("id: ")):
			id, _ = strconv.ParseInt(string(line[4:]), 10, 64)
		case bytes.HasPrefix(line, []byte("data: ")):
			s.data = append(s.data, line[6:]...)
		}
	}
}

// maxResumes bounds the times the events stream is opened again without an
// event between.
const maxResumes = 3

func (s *jsonSSEStream) reopen(cause error) error {
	s.mu.Lock()
	closing := s.closing
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
	s.mu.Unlock()
	if closing {
		return fmt.Errorf("json: events: %w", cause)
	}
	for {
		s.resumes++
		if s.resumes > maxResumes {
			return fmt.Errorf("json: events: %w (reopened %d times)", cause, maxResumes)
		}
		// EventSource waits 'retry' (the bridge says 2 s) before it
		// reconnects; the load tool does not keep a dropped stream waiting
		// that long.
		time.Sleep(200 * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		err := s.openEvents(ctx)
		cancel()
		var ae *apiError
		switch {
		case err == nil:
			return nil
		case errors.As(err, &ae):
			return err // 404: the session is over
		}
		cause = err
	}
}

// Send posts el with the next rid and an ack of the events taken.
func (s *jsonSSEStream) Send(el []byte) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	b := appendPostHead(make([]byte, 0, 64+len(el)), s.rid, s.sid, s.last.Load())
	b = append(b, `,"frames":[`...)
	b = append(b, el...)
	if err := s.postLocked(append(b, "]}"...)); err != nil {
		return err
	}
	s.rid++
	return nil
}

func (s *jsonSSEStream) postLocked(body []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	status, data, err := s.po.post(ctx, body)
	if err != nil {
		return fmt.Errorf("json: send: %w", err)
	}
	_, err = parseJSONAnswer(status, data)
	if err == nil && s.answered != nil {
		s.answered(data)
	}
	return err
}

// Close sends the close frame and closes the events stream.
func (s *jsonSSEStream) Close() error {
	s.sendMu.Lock()
	if s.sid != "" {
		b := appendPostHead(nil, s.rid, s.sid, s.last.Load())
		s.postLocked(append(b, `,"frames":[{"kind":"close"}]}`...))
		s.rid++
	}
	s.sendMu.Unlock()
	s.abort()
	return nil
}

// abort drops the session as a browser whose network went away: both
// connections are closed, and the bridge is told nothing.
func (s *jsonSSEStream) abort() {
	s.mu.Lock()
	s.closing = true
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
	s.mu.Unlock()
	s.po.closeIdle()
}
