package jsonapi

import (
	"maps"
	"sync"
)

// Stats are the Handler's counts now, for metrics. What its sessions
// carried is counted by the bridge (bridge.Hub.Stats, under "json").
type Stats struct {
	// Sessions is the number of sessions held (Len), Detached among
	// them.
	Sessions int
	// Detached is the number of sessions whose page went away: they
	// wait for a resume within the resume window.
	Detached int
	// Held is the number of polls held, waiting for something to answer
	// with; Streams the number of events streams open.
	Held, Streams int
	// Resumes counts the resume frames answered over the Handler's life,
	// by outcome: "resumed", or the code of the error frame that refused
	// the resume ("bad-token", "item-not-found", "conflict", ...).
	Resumes map[string]uint64
}

// Stats counts the sessions. It lists them under the Handler's lock, lets
// it go, and then takes each session's lock in turn (a session's lock may
// be held while taking the Handler's, never the other way round), so it is
// for a scrape now and then, not for a hot path.
func (h *Handler) Stats() Stats {
	h.mu.Lock()
	list := make([]*session, 0, len(h.sessions)+len(h.sockets))
	for _, s := range h.sessions {
		list = append(list, s)
	}
	for s := range h.sockets {
		list = append(list, s)
	}
	h.mu.Unlock()
	st := Stats{Sessions: len(list), Resumes: h.stats.counts()}
	for _, s := range list {
		s.lp.Lock()
		if s.detached {
			st.Detached++
		}
		if s.events != nil {
			st.Streams++
		}
		st.Held += s.lp.HeldLocked()
		s.lp.Unlock()
	}
	return st
}

// TransportName implements bridge.Named: the Hub counts the JSON API's
// sessions, on whichever of its transports, under "json".
func (s *session) TransportName() string { return "json" }

// resumeStats counts resumes by outcome. A resume is rare next to a
// stanza, so a lock and a map serve.
type resumeStats struct {
	mu   sync.Mutex
	byOC map[string]uint64
}

// resumed counts the outcome of a resume: e is the error that refused it,
// or nil.
func (r *resumeStats) resumed(e *apiError) {
	oc := "resumed"
	if e != nil {
		oc = e.code
	}
	r.mu.Lock()
	if r.byOC == nil {
		r.byOC = make(map[string]uint64)
	}
	r.byOC[oc]++
	r.mu.Unlock()
}

func (r *resumeStats) counts() map[string]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.byOC)
}
