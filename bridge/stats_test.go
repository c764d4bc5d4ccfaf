package bridge

import (
	"context"
	"testing"

	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// named is a recorder counted under a transport name of its own.
type named struct {
	*recorder
	name string
}

func (n named) TransportName() string { return n.name }

// Hub.Stats counts each transport's sessions apart: opened, open, ended
// by reason, and the elements and bytes in both directions.
func TestStatsByTransport(t *testing.T) {
	srv := fakexmpp.Start(t, fakexmpp.Echo)
	h := New(Config{Upstream: plaintextTo(srv.Addr), MaxSessions: 2})

	ws := named{newRecorder(), "websocket"}
	s, err := h.Open(context.Background(), OpenRequest{To: "localhost"}, ws)
	if err != nil {
		t.Fatal(err)
	}
	ws.next(t) // header
	ws.next(t) // features: one element out
	st := h.Stats().Transports["websocket"]
	if st.Open != 1 || st.Opened != 1 || st.StanzasOut != 1 || st.StanzasIn != 0 {
		t.Fatalf("after open: %+v", st)
	}

	const msg = "<message xmlns='jabber:client' id='m1'><body>hi</body></message>"
	for range 3 {
		if err := s.Send([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		ws.next(t) // the echo
	}
	st = h.Stats().Transports["websocket"]
	if st.StanzasIn != 3 || st.BytesIn != 3*uint64(len(msg)) || st.StanzasOut != 4 || st.BytesOut <= 3*uint64(len(msg)) {
		t.Fatalf("after three echoes: %+v", st)
	}

	// A transport that gives no name; then one session too many.
	other := newRecorder()
	if _, err := h.Open(context.Background(), OpenRequest{To: "localhost"}, other); err != nil {
		t.Fatal(err)
	}
	third := named{newRecorder(), "bosh"}
	if _, err := h.Open(context.Background(), OpenRequest{To: "localhost"}, third); err == nil {
		t.Fatal("third session accepted")
	}
	third.nextEnd(t)

	s.End(&CloseError{Reason: ReasonNotWellFormed})
	ws.nextEnd(t)
	waitLen(t, h, 1)

	all := h.Stats()
	tests := []struct {
		name, transport string
		open            int64
		opened          uint64
		reason          Reason
	}{
		{"ended by the browser", "websocket", 0, 1, ReasonNotWellFormed},
		{"open, unnamed", "other", 1, 1, ReasonNormal},
		{"refused", "bosh", 0, 1, ReasonResourceConstraint},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, ok := all.Transports[tt.transport]
			if !ok {
				t.Fatalf("no stats for %q in %v", tt.transport, all.Transports)
			}
			if st.Open != tt.open || st.Opened != tt.opened || len(st.Ended) != int(numReasons) {
				t.Fatalf("%+v", st)
			}
			var ended uint64
			for _, n := range st.Ended {
				ended += n
			}
			if want := tt.opened - uint64(tt.open); ended != want || (want > 0 && st.Ended[tt.reason] != want) {
				t.Fatalf("ended %v, want %d with %v", st.Ended, want, tt.reason)
			}
		})
	}
}

func TestStatsLogins(t *testing.T) {
	h := New(Config{})
	h.CountLoginFailed()
	h.CountLoginThrottled()
	h.CountLoginThrottled()
	// A bridge-side login the server refused ends its session so.
	c := h.st.opened(named{newRecorder(), "json"})
	h.st.ended(c, ReasonNotAuthorized)
	if st := h.Stats(); st.LoginsFailed != 2 || st.LoginsThrottled != 2 {
		t.Fatalf("failed %d throttled %d, want 2 and 2", st.LoginsFailed, st.LoginsThrottled)
	}
}

// Counting an element costs no allocation.
func TestCountersDoNotAllocate(t *testing.T) {
	var c counters
	it := Item{}
	it.Kind = xmppclient.EventElement
	it.Data = []byte("<message/>")
	if n := testing.AllocsPerRun(100, func() { c.in(10); c.out(&it) }); n != 0 {
		t.Fatalf("%v allocations per element", n)
	}
	if c.stanzasOut.Load() == 0 {
		t.Fatal("element not counted")
	}
}

func TestReasons(t *testing.T) {
	list := Reasons()
	if len(list) != int(numReasons) {
		t.Fatalf("%d reasons, want %d", len(list), numReasons)
	}
	seen := map[string]bool{}
	for i, r := range list {
		if r != Reason(i) || seen[r.String()] {
			t.Fatalf("Reasons()[%d] = %v", i, r)
		}
		seen[r.String()] = true
	}
}

// BenchmarkCountElement is what counting costs per element relayed: one
// element each way, as Send and the reader count them. Parallel: every
// session of a transport adds to the same counters.
func BenchmarkCountElement(b *testing.B) {
	var c counters
	it := Item{}
	it.Kind = xmppclient.EventElement
	it.Data = make([]byte, 330)
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c.in(330)
			c.out(&it)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				c.in(330)
				c.out(&it)
			}
		})
	})
}
