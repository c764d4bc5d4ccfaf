package jsonapi

import "testing"

// Handler.Stats counts the sessions held, on every transport, and those
// detached among them.
func TestStats(t *testing.T) {
	s := testSession(Config{})
	h := s.h
	if st := h.Stats(); st != (Stats{}) {
		t.Fatalf("Stats() before any session = %+v", st)
	}
	h.register(s)
	gone := h.newSession("sid2")
	h.register(gone)
	gone.lp.Lock()
	gone.detached = true
	gone.lp.Unlock()
	if st := h.Stats(); st != (Stats{Sessions: 2, Detached: 1}) {
		t.Fatalf("Stats() = %+v, want two sessions, one detached", st)
	}
	h.forget(gone)
	if st := h.Stats(); st != (Stats{Sessions: 1}) {
		t.Fatalf("Stats() after forget = %+v", st)
	}
	if got := s.TransportName(); got != "json" {
		t.Fatalf("TransportName() = %q", got)
	}
}
