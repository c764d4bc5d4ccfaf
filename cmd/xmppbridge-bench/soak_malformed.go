package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// malformedKind is one kind of bad input a transport can carry, and the
// answer the bridge owes it (README "What the browser sees", docs/bosh.md,
// docs/json-api.md).
type malformedKind struct {
	name   string
	ends   bool   // the session must end; else it must go on untouched
	cond   string // stream error, BOSH terminate condition or JSON error code
	code   int    // WebSocket close code; 0: none expected
	status int    // HTTP status; 0: not HTTP
}

// malformedKinds are the kinds each kind of path is given in turn.
var malformedKinds = map[string][]malformedKind{
	"ws": {
		{name: "not-well-formed", ends: true, cond: "not-well-formed", code: websocket.CloseInvalidFramePayloadData},
		{name: "oversize", ends: true, cond: "policy-violation", code: websocket.CloseMessageTooBig},
	},
	"bosh": {
		{name: "not-well-formed", ends: true, cond: "bad-request", status: 200},
		{name: "bad-rid", ends: true, cond: "item-not-found", status: 200},
		{name: "oversize", ends: true, cond: "policy-violation", status: 200},
	},
	"json": {
		{name: "bad-json", cond: "bad-json"},
		{name: "oversize", ends: true, code: websocket.CloseMessageTooBig},
	},
	"sse": {
		{name: "bad-json", cond: "bad-json", status: 400},
		{name: "bad-rid", cond: "bad-request", status: 400},
		{name: "oversize", cond: "too-large", status: 413},
	},
	"poll": {
		{name: "bad-json", cond: "bad-json", status: 400},
		{name: "bad-rid", cond: "bad-request", status: 400},
		{name: "oversize", cond: "too-large", status: 413},
	},
}

func (k malformedKind) String() string {
	s := k.cond
	if k.code != 0 {
		s = strings.TrimPrefix(s+", close code "+strconv.Itoa(k.code), ", ")
	}
	if k.status != 0 {
		s = "HTTP " + strconv.Itoa(k.status) + " " + s
	}
	if k.ends {
		return s + ", session ended"
	}
	return s + ", session goes on"
}

// ending is what a session or a request got: a condition (stream error,
// BOSH terminate, JSON close or error code), a WebSocket close code, an
// HTTP status, or failing those the error.
type ending struct {
	cond   string
	code   int
	status int
	text   string
}

func (e ending) String() string {
	var parts []string
	if e.status != 0 {
		parts = append(parts, "HTTP "+strconv.Itoa(e.status))
	}
	if e.cond != "" {
		parts = append(parts, e.cond)
	}
	if e.code != 0 {
		parts = append(parts, "close code "+strconv.Itoa(e.code))
	}
	if e.text != "" && e.cond == "" && e.code == 0 {
		parts = append(parts, e.text)
	}
	if len(parts) == 0 {
		return "no reason given"
	}
	return strings.Join(parts, ", ")
}

// isEndElement reports whether el is a stream error, an RFC 7395 close, or
// a JSON close or error frame.
func isEndElement(el []byte) bool {
	return bytes.HasPrefix(el, []byte("<stream:error")) || bytes.HasPrefix(el, []byte("<close")) ||
		bytes.HasPrefix(el, []byte(`{"kind":"close"`)) || bytes.HasPrefix(el, []byte(`{"kind":"error"`))
}

// describeEnd says what el, the last end element received, and err, why
// the stream stopped, tell of the end.
func describeEnd(el []byte, err error) ending {
	var e ending
	switch {
	case bytes.HasPrefix(el, []byte("<stream:error")):
		// The condition is the first child.
		rest := el[len("<stream:error"):]
		if i := bytes.IndexByte(rest, '<'); i >= 0 {
			name := rest[i+1:]
			if j := bytes.IndexAny(name, " />"); j >= 0 {
				e.cond = string(name[:j])
			}
		}
	case bytes.HasPrefix(el, []byte("{")):
		var f struct{ Kind, Code string }
		if json.Unmarshal(el, &f) == nil {
			e.cond = f.Code
		}
	}
	var te *terminateError
	var ce *websocket.CloseError
	var ae *apiError
	switch {
	case errors.As(err, &te):
		if e.cond == "" {
			e.cond = te.condition
		}
	case errors.As(err, &ce):
		e.code = ce.Code
	case errors.As(err, &ae):
		if e.cond == "" {
			e.cond, e.status = ae.code, ae.status
		}
	case err != nil:
		e.text = err.Error()
	}
	return e
}

// matches reports whether what came, got, is the answer k is owed.
func (k malformedKind) matches(got ending, ended bool) bool {
	return ended == k.ends && (k.cond == "" || got.cond == k.cond) &&
		(k.code == 0 || got.code == k.code) && (k.status == 0 || got.status == k.status)
}

// expectation is one malformed input sent and what came of it.
type expectation struct {
	User string  `json:"user"`
	Path string  `json:"path"`
	At   float64 `json:"at_s"`
	Kind string  `json:"kind"`
	Want string  `json:"want"`
	Got  string  `json:"got"`
	OK   bool    `json:"ok"`
	// Excused names the server fault under way while a wrong answer came:
	// the session ending for it answers first.
	Excused string `json:"excused,omitempty"`

	kind malformedKind
	once sync.Once
	done chan struct{}
}

// settle records what came, the first time.
func (e *expectation) settle(got ending, ended bool) {
	e.once.Do(func() {
		e.Got = got.String()
		if ended {
			e.Got += ", session ended"
		} else {
			e.Got += ", session goes on"
		}
		e.OK = e.kind.matches(got, ended)
		close(e.done)
	})
}

// answerBound bounds the wait for the answer to a malformed input.
const answerBound = 10 * time.Second

// malformedInput has inc send the k-th kind of bad input of its path and
// checks the answer.
func (sk *soakRun) malformedInput(u *soakUser, inc *incarnation, k int) {
	kinds := malformedKinds[sk.specs[u.path].kind]
	inj, ok := inc.st.(interface {
		inject(kind string, maxStanza int) (*ending, error)
	})
	if len(kinds) == 0 || !ok {
		return
	}
	kind := kinds[k%len(kinds)]
	exp := &expectation{User: u.name, Path: sk.specs[u.path].name, At: sk.now().Seconds(), Kind: kind.name, Want: kind.String(), kind: kind, done: make(chan struct{})}
	if kind.ends {
		sk.addFault(u, "malformed", true)
	} else {
		// Excuses nothing: the session must go on as if nothing was sent.
		u.mu.Lock()
		now := sk.now()
		u.faults = append(u.faults, faultWindow{Kind: "malformed", From: now, To: now})
		u.mu.Unlock()
	}
	inc.mu.Lock()
	inc.expect = exp
	inc.mu.Unlock()
	sk.mu.Lock()
	sk.malformed = append(sk.malformed, exp)
	sk.mu.Unlock()

	inc.wmu.Lock()
	got, err := inj.inject(kind.name, sk.cfg.maxStanza)
	inc.wmu.Unlock()
	switch {
	case err != nil:
		exp.settle(ending{text: "not sent: " + err.Error()}, false)
	case got != nil:
		exp.settle(*got, kind.ends)
	}
	select {
	case <-exp.done:
	case <-time.After(answerBound):
		exp.settle(ending{text: fmt.Sprintf("no answer within %v", answerBound)}, false)
	}
	if !exp.OK {
		sk.mu.Lock()
		exp.Excused, _ = excusedBy(time.Duration(exp.At*float64(time.Second)), sk.now(), sk.server)
		sk.mu.Unlock()
		sk.logf("soak: %s (%s) sent %s: want %s, got %s (excused: %q)", u.name, exp.Path, kind.name, exp.Want, exp.Got, exp.Excused)
	}
}

// oversizeBody is n bytes of body text.
func oversizeBody(n int) []byte { return bytes.Repeat([]byte{'a'}, n) }

// inject sends bad XML: the answer comes to the reader.
func (s *wsStream) inject(kind string, maxStanza int) (*ending, error) {
	switch kind {
	case "not-well-formed":
		return nil, s.Send([]byte(`<message xmlns="jabber:client" to="nobody@localhost"><body>soak</message>`))
	case "oversize":
		b := []byte(`<message xmlns="jabber:client" type="chat" to="nobody@localhost"><body>`)
		b = append(b, oversizeBody(maxStanza)...)
		return nil, s.Send(append(b, "</body></message>"...))
	}
	return nil, fmt.Errorf("ws: no malformed input %q", kind)
}

// inject sends a bad frame: the answer comes to the reader.
func (s *jsonStream) inject(kind string, maxStanza int) (*ending, error) {
	switch kind {
	case "bad-json":
		return nil, s.Send([]byte(`{"kind":"message","body":`))
	case "oversize":
		// Over the WebSocket message limit, 2 × max_stanza_bytes + 4 KiB.
		b := []byte(`{"kind":"message","type":"chat","to":"nobody@localhost","body":"`)
		b = append(b, oversizeBody(2*maxStanza+4096)...)
		return nil, s.Send(append(b, `"}`...))
	}
	return nil, fmt.Errorf("json: no malformed input %q", kind)
}

// inject posts a bad request beside the held one and reads its answer.
func (s *boshStream) inject(kind string, maxStanza int) (*ending, error) {
	rid, sid, release, err := s.reserve(kind != "bad-rid")
	if err != nil {
		return nil, err
	}
	defer release()
	var body []byte
	switch kind {
	case "not-well-formed":
		body = appendBody(nil, rid, sid, "", []byte(`<message xmlns="jabber:client"><body>soak</message>`))
	case "bad-rid":
		body = appendBody(nil, rid+100, sid, "", nil)
	case "oversize":
		// Over the default max_body_bytes, 4 × max_stanza_bytes.
		p := []byte(`<message xmlns="jabber:client" type="chat" to="nobody@localhost"><body>`)
		p = append(p, oversizeBody(4*maxStanza)...)
		body = appendBody(nil, rid, sid, "", append(p, "</body></message>"...))
	default:
		return nil, fmt.Errorf("bosh: no malformed input %q", kind)
	}
	ctx, cancel := context.WithTimeout(context.Background(), answerBound)
	defer cancel()
	status, data, err := s.po.post(ctx, body)
	if err != nil {
		return nil, err
	}
	_, err = boshCodec{}.parseAnswer(status, data)
	got := describeEnd(nil, err)
	got.status = status
	if err == nil {
		got.text = "answered without terminate"
	}
	return &got, nil
}

// inject posts a bad long-poll request and reads its answer.
func (s *jsonPollStream) inject(kind string, maxStanza int) (*ending, error) {
	s.mu.Lock()
	rid, sid, taken := s.rid, s.sid, s.taken
	s.mu.Unlock()
	body, err := badPost(kind, rid, sid, taken, maxStanza)
	if err != nil {
		return nil, err
	}
	return postBad(s.po, body)
}

// inject posts a bad request of the events transport and reads its
// answer.
func (s *jsonSSEStream) inject(kind string, maxStanza int) (*ending, error) {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	body, err := badPost(kind, s.rid, s.sid, s.last.Load(), maxStanza)
	if err != nil {
		return nil, err
	}
	return postBad(s.po, body)
}

// badPost is a bad body for the JSON API over HTTP, where rid is the next
// one to use: none of them takes it.
func badPost(kind string, rid int64, sid string, taken int64, maxStanza int) ([]byte, error) {
	switch kind {
	case "bad-json":
		return append(appendPostHead(nil, rid, sid, taken), `,"frames":[`...), nil
	case "bad-rid":
		return append(appendPostHead(nil, rid+100, sid, taken), `,"frames":[]}`...), nil
	case "oversize":
		// Over the body limit, 2 × max_stanza_bytes + 4 KiB.
		b := append(appendPostHead(nil, rid, sid, taken), `,"frames":[{"kind":"message","type":"chat","to":"nobody@localhost","body":"`...)
		b = append(b, oversizeBody(2*maxStanza+4096)...)
		return append(b, `"}]}`...), nil
	}
	return nil, fmt.Errorf("json: no malformed input %q", kind)
}

func postBad(po *poster, body []byte) (*ending, error) {
	ctx, cancel := context.WithTimeout(context.Background(), answerBound)
	defer cancel()
	status, data, err := po.post(ctx, body)
	if err != nil {
		return nil, err
	}
	_, err = parseJSONAnswer(status, data)
	got := describeEnd(nil, err)
	got.status = status
	return &got, nil
}

// abortStream drops st as a browser whose network went away.
func abortStream(st Stream) {
	if a, ok := st.(interface{ abort() }); ok {
		a.abort()
	}
}

// abort closes the connection at once (a reset), with no close frame.
func (s *wsStream) abort() {
	if tc, ok := s.c.UnderlyingConn().(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	s.c.Close()
}
