package jsonapi

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/longpoll"
)

func testSession(cfg Config) *session {
	if cfg.Hub == nil {
		cfg.Hub = bridge.New(bridge.Config{})
	}
	h := New(cfg)
	s := h.newSession("sid")
	s.lp.Configure(longpoll.Params{Wait: h.cfg.Wait, Hold: 1, Requests: 2, Inactivity: h.cfg.Inactivity}, 1)
	return s
}

func numbers(frames []frame) []uint64 {
	var ns []uint64
	for _, f := range frames {
		ns = append(ns, f.n)
	}
	return ns
}

// TestLog: frames are numbered, kept until acknowledged, and a resend
// from any acknowledged point finds exactly what followed.
func TestLog(t *testing.T) {
	s := testSession(Config{})
	s.lp.Lock()
	defer s.lp.Unlock()
	for i := 1; i <= 5; i++ {
		s.appendLocked([]byte(fmt.Sprintf(`{"kind":"message","id":"%d"}`, i)))
	}
	if first, got := s.sinceLocked(0); first != 1 || fmt.Sprint(numbers(got)) != "[1 2 3 4 5]" {
		t.Fatalf("since 0: %d %v", first, numbers(got))
	}
	s.ackLocked(2)
	if first, got := s.sinceLocked(2); first != 3 || fmt.Sprint(numbers(got)) != "[3 4 5]" {
		t.Fatalf("since 2 after ack 2: %d %v", first, numbers(got))
	}
	if first, got := s.sinceLocked(5); first != 6 || got != nil {
		t.Fatalf("since 5: %d %v", first, numbers(got))
	}
	want := 0
	for _, f := range s.log {
		want += len(f.data)
	}
	if s.bytes != want {
		t.Fatalf("bytes %d, want %d", s.bytes, want)
	}
	s.ackLocked(9)
	if len(s.log) != 0 || s.bytes != 0 {
		t.Fatalf("after ack 9: %d frames, %d bytes", len(s.log), s.bytes)
	}
}

// TestBound: frames stay until acknowledged; one that would pass the
// bound ends the session as a slow consumer instead of dropping anything.
func TestBound(t *testing.T) {
	s := testSession(Config{QueueBytes: 40})
	s.lp.Lock()
	defer s.lp.Unlock()
	for range 4 {
		s.boundedLocked(make([]byte, 10))
	}
	s.sent = 4
	s.boundedLocked(make([]byte, 10))
	if !s.ended || s.end.Reason != bridge.ReasonSlowConsumer {
		t.Fatalf("not ended: %v", numbers(s.log))
	}
	if got := fmt.Sprint(numbers(s.log)); got != "[1 2 3 4 5]" || string(s.log[4].data) != `{"kind":"close","code":"policy-violation"}` {
		t.Fatalf("log %s, last %s", got, s.log[4].data)
	}
}

// TestErrorsBounded: bad frames get error frames, at most maxErrors per
// request, each echoing at most maxEcho bytes of the browser's input.
func TestErrorsBounded(t *testing.T) {
	s := testSession(Config{})
	var frames []json.RawMessage
	long := strings.Repeat("é", 1000)
	for range 100 {
		frames = append(frames, json.RawMessage(`{"kind":"telegram","id":"`+long+`"}`))
	}
	s.send(frames, 0)
	s.lp.Lock()
	defer s.lp.Unlock()
	if len(s.log) != maxErrors {
		t.Fatalf("%d error frames, want %d", len(s.log), maxErrors)
	}
	for _, f := range s.log {
		var e struct{ Code, ID string }
		if err := json.Unmarshal(f.data, &e); err != nil || len(e.ID) > maxEcho+len("…") || !utf8.ValidString(e.ID) {
			t.Fatalf("frame %.80s: %v", f.data, err)
		}
	}
	if !strings.Contains(string(s.log[maxErrors-1].data), `"code":"too-large"`) {
		t.Fatalf("last frame %s", s.log[maxErrors-1].data)
	}
}

// TestEndFrame: the session's end is the last frame, with the condition
// the browser should hear; a stream error from the server wins.
func TestEndFrame(t *testing.T) {
	tests := []struct {
		e       *bridge.CloseError
		seen    *closeInfo
		want    string
		wantEnd bridge.Reason
	}{
		{&bridge.CloseError{Reason: bridge.ReasonNormal}, nil, `{"kind":"close","code":"normal"}`, bridge.ReasonNormal},
		{&bridge.CloseError{Reason: bridge.ReasonShutdown}, nil, `{"kind":"close","code":"system-shutdown"}`, bridge.ReasonShutdown},
		{&bridge.CloseError{Reason: bridge.ReasonSlowConsumer}, nil, `{"kind":"close","code":"policy-violation"}`, bridge.ReasonSlowConsumer},
		{&bridge.CloseError{Reason: bridge.ReasonUpstreamClosed}, &closeInfo{"conflict", "replaced"}, `{"kind":"close","code":"conflict","text":"replaced"}`, bridge.ReasonUpstreamClosed},
	}
	for _, tt := range tests {
		s := testSession(Config{})
		s.lp.Lock()
		s.closing = tt.seen
		s.endLocked(tt.e)
		s.endLocked(&bridge.CloseError{Reason: bridge.ReasonInternal}) // no second close
		if len(s.log) != 1 || string(s.log[0].data) != tt.want || !s.ended || s.end.Reason != tt.wantEnd {
			t.Errorf("%v: log %v", tt.e, s.log)
		}
		s.lp.Unlock()
	}
}

// TestImplicitAck: without ack, the answers to rids a window back count as
// received, and nothing newer.
func TestImplicitAck(t *testing.T) {
	s := testSession(Config{})
	s.lp.Lock()
	defer s.lp.Unlock()
	for range 6 {
		s.appendLocked([]byte("{}"))
	}
	s.rememberLocked(1, 1) // rid 1 answered with frames 1-2
	s.rememberLocked(2, 3) // rid 2 answered with frames 3-6
	s.sent = 6
	s.implicitAckLocked(3) // rid 2's answer may still be on its way
	if fmt.Sprint(numbers(s.log)) != "[3 4 5 6]" {
		t.Fatalf("after rid 3: %v", numbers(s.log))
	}
	s.implicitAckLocked(4)
	if len(s.log) != 0 {
		t.Fatalf("after rid 4: %v", numbers(s.log))
	}
}
