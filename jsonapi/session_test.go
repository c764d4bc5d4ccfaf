package jsonapi

import (
	"fmt"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/bridge"
)

func testSession(cfg Config) *session {
	if cfg.Hub == nil {
		cfg.Hub = bridge.New(bridge.Config{})
	}
	h := New(cfg)
	s := h.newSession("sid")
	s.window = 2
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
	s.mu.Lock()
	defer s.mu.Unlock()
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

// TestTrimKeepsUnsent: making room forgets only frames already sent.
func TestTrimKeepsUnsent(t *testing.T) {
	s := testSession(Config{})
	s.mu.Lock()
	defer s.mu.Unlock()
	for range 4 {
		s.appendLocked(make([]byte, 10))
	}
	s.sent = 2
	s.trimSentLocked(100)
	if fmt.Sprint(numbers(s.log)) != "[3 4]" || s.bytes != 20 {
		t.Fatalf("after trim: %v, %d bytes", numbers(s.log), s.bytes)
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
		s.mu.Lock()
		s.closing = tt.seen
		s.endLocked(tt.e)
		s.endLocked(&bridge.CloseError{Reason: bridge.ReasonInternal}) // no second close
		if len(s.log) != 1 || string(s.log[0].data) != tt.want || !s.ended || s.end.Reason != tt.wantEnd {
			t.Errorf("%v: log %v", tt.e, s.log)
		}
		s.mu.Unlock()
	}
}

// TestAdmitOrder: requests are taken in rid order; an early one waits for
// the one before it; a repeat is recognised; one past the window is refused.
func TestAdmitOrder(t *testing.T) {
	s := testSession(Config{Wait: 5 * time.Second})
	s.rid = 10
	s.mu.Lock()
	if _, err := s.admitLocked(13, 2, nil); err != errRIDWindow {
		t.Fatalf("rid 13 with window 2: %v", err)
	}
	s.mu.Unlock()

	got := make(chan uint64, 2)
	go func() {
		s.mu.Lock()
		repeat, err := s.admitLocked(12, 2, nil)
		if err != nil || repeat {
			t.Errorf("rid 12: %v %v", repeat, err)
		}
		got <- 12
		s.doneLocked(12)
		s.mu.Unlock()
	}()
	// Wait until 12 is parked.
	for {
		s.mu.Lock()
		n := len(s.turns)
		s.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	s.mu.Lock()
	if repeat, err := s.admitLocked(11, 2, nil); err != nil || repeat {
		t.Fatalf("rid 11: %v %v", repeat, err)
	}
	got <- 11
	s.doneLocked(11)
	s.mu.Unlock()
	if a, b := <-got, <-got; a != 11 || b != 12 {
		t.Fatalf("order %d, %d", a, b)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if repeat, err := s.admitLocked(12, 2, nil); !repeat || err != nil {
		t.Fatalf("rid 12 again: %v %v", repeat, err)
	}
}

// TestAdmitGapTimesOut: a request whose predecessor never comes is
// refused when wait runs out, and the session takes the gap's rid later.
func TestAdmitGapTimesOut(t *testing.T) {
	s := testSession(Config{Wait: 20 * time.Millisecond})
	s.rid = 10
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.admitLocked(12, 2, nil); err != errRIDTurn {
		t.Fatalf("rid 12 without 11: %v", err)
	}
	if len(s.turns) != 0 {
		t.Fatalf("turns left: %v", s.turns)
	}
	if repeat, err := s.admitLocked(11, 2, nil); err != nil || repeat {
		t.Fatalf("rid 11: %v %v", repeat, err)
	}
}

// TestImplicitAck: without ack, the answers to rids a window back count as
// received, and nothing newer.
func TestImplicitAck(t *testing.T) {
	s := testSession(Config{})
	s.mu.Lock()
	defer s.mu.Unlock()
	for range 6 {
		s.appendLocked([]byte("{}"))
	}
	s.rememberLocked(1, 1, 2) // rid 1 answered with frames 1-2
	s.rememberLocked(2, 3, 2) // rid 2 answered with frames 3-6
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
