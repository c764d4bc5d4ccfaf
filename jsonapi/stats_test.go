package jsonapi

import (
	"reflect"
	"testing"
)

// Handler.Stats counts the sessions held, on every transport, and those
// detached among them.
func TestStats(t *testing.T) {
	s := testSession(Config{})
	h := s.h
	if st := h.Stats(); !reflect.DeepEqual(st, Stats{}) {
		t.Fatalf("Stats() before any session = %+v", st)
	}
	h.register(s)
	gone := h.newSession("sid2")
	h.register(gone)
	gone.lp.Lock()
	gone.detached = true
	gone.lp.Unlock()
	if st := h.Stats(); !reflect.DeepEqual(st, Stats{Sessions: 2, Detached: 1}) {
		t.Fatalf("Stats() = %+v, want two sessions, one detached", st)
	}
	h.forget(gone)
	if st := h.Stats(); !reflect.DeepEqual(st, Stats{Sessions: 1}) {
		t.Fatalf("Stats() after forget = %+v", st)
	}
	if got := s.TransportName(); got != "json" {
		t.Fatalf("TransportName() = %q", got)
	}
}

// A resume frame is counted by its outcome, on every transport.
func TestStatsResumes(t *testing.T) {
	h := testSession(Config{}).h
	h.stats.resumed(nil)
	h.stats.resumed(&apiError{code: errBadToken})
	h.stats.resumed(&apiError{code: errBadToken})
	h.stats.resumed(&apiError{code: errItemNotFound})
	want := map[string]uint64{"resumed": 1, errBadToken: 2, errItemNotFound: 1}
	if got := h.Stats().Resumes; !reflect.DeepEqual(got, want) {
		t.Fatalf("Resumes = %v, want %v", got, want)
	}
}

// A resume with a token that is no token is counted as refused.
func TestStatsResumeRefused(t *testing.T) {
	h := testSession(Config{}).h
	last := uint64(0)
	if _, _, e := h.resumeHTTP(&loginFrame{Kind: "resume", Token: "forged", Last: &last}); e == nil {
		t.Fatal("a forged token resumed a session")
	}
	if got := h.Stats().Resumes[errBadToken]; got != 1 {
		t.Fatalf("bad-token resumes = %d, want 1", got)
	}
}
