package bosh

// Stats are the Handler's counts now, for metrics. What its sessions
// carried is counted by the bridge (bridge.Hub.Stats, under "bosh").
type Stats struct {
	// Sessions is the number of BOSH sessions open.
	Sessions int
	// Held is the number of requests held, waiting for something to
	// answer with.
	Held int
}

// Stats counts the sessions and their held requests. It takes each
// session's lock in turn, so it is for a scrape now and then, not for a
// hot path.
func (h *Handler) Stats() Stats {
	list := h.list()
	st := Stats{Sessions: len(list)}
	for _, s := range list {
		s.lp.Lock()
		st.Held += s.lp.HeldLocked()
		s.lp.Unlock()
	}
	return st
}

// TransportName implements bridge.Named: the Hub counts BOSH sessions
// under "bosh".
func (s *session) TransportName() string { return "bosh" }
