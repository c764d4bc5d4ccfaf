package jsonapi

import (
	"bytes"
	"net/http"
	"strconv"
	"time"
)

// serveEvents serves a session's frames as Server-Sent Events, from the
// one after Last-Event-ID (or ?last=), until the session ends, the browser
// goes or a newer stream replaces this one.
func (h *Handler) serveEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s := h.lookup(q.Get("sid"))
	if s == nil {
		h.reject(w, r, http.StatusNotFound, errItemNotFound, "no such session")
		return
	}
	lastID := r.Header.Get("Last-Event-ID")
	if lastID == "" {
		lastID = q.Get("last")
	}
	if !h.enter(true) {
		h.reject(w, r, http.StatusServiceUnavailable, errShutdown, "the bridge is shutting down")
		return
	}
	defer h.leave()

	s.mu.Lock()
	// Without an id, from what the page acknowledged: frames written to a
	// stream that broke may never have arrived.
	cursor := s.acked
	if lastID != "" {
		n, err := strconv.ParseUint(lastID, 10, 64)
		if err != nil || n >= s.next {
			s.mu.Unlock()
			h.reject(w, r, http.StatusBadRequest, errBadRequest, "Last-Event-ID is not an event of this session")
			return
		}
		// Frames the page acknowledged are gone; it has them.
		cursor = max(n, s.acked)
	}
	if s.ended && cursor+1 >= s.next {
		// The close frame has been read: an EventSource reconnecting after
		// it learns that the session is over and stops.
		s.mu.Unlock()
		h.reject(w, r, http.StatusNotFound, errItemNotFound, "the session has ended")
		return
	}
	s.ackLocked(cursor)
	s.sent = min(s.sent, cursor) // what follows goes again
	if s.stream != nil {
		close(s.stream)
	}
	mine := make(chan struct{})
	s.stream = mine
	s.attachLocked()
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.stream == mine {
			s.stream = nil
		}
		s.detachLocked()
		s.mu.Unlock()
	}()

	rc := http.NewResponseController(w)
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream; charset=utf-8")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Accel-Buffering", "no") // nginx: do not buffer
	w.WriteHeader(http.StatusOK)
	buf := make([]byte, 0, 4096)
	if h.cfg.Padding > 0 {
		buf = append(buf, ':')
		buf = append(buf, bytes.Repeat([]byte{' '}, h.cfg.Padding)...)
		buf = append(buf, '\n')
	}
	buf = append(buf, "retry: 2000\n\n"...)

	beat := time.NewTicker(h.cfg.Heartbeat)
	defer beat.Stop()
	for {
		_ = rc.SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout))
		if len(buf) > 0 {
			if _, err := w.Write(buf); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
			buf = buf[:0]
		}
		s.mu.Lock()
		s.waitForLocked(cursor, mine, r.Context().Done(), beat.C)
		if s.stream != mine {
			s.mu.Unlock()
			return // a newer stream sends from here on
		}
		_, frames := s.sinceLocked(cursor)
		ended := s.ended && len(frames) > 0 && frames[len(frames)-1].n == s.next-1
		for _, f := range frames {
			buf = strconv.AppendUint(append(buf, "id: "...), f.n, 10)
			buf = append(buf, "\ndata: "...)
			buf = append(buf, f.data...)
			buf = append(buf, "\n\n"...)
			cursor = f.n
		}
		s.sent = max(s.sent, cursor)
		s.mu.Unlock()
		select {
		case <-r.Context().Done():
			return
		case <-h.ctx.Done():
			if len(frames) == 0 {
				return
			}
		default:
		}
		if len(frames) == 0 {
			buf = append(buf, ":\n\n"...) // heartbeat
		}
		if ended {
			_ = rc.SetWriteDeadline(time.Now().Add(h.cfg.WriteTimeout))
			if _, err := w.Write(buf); err == nil {
				_ = rc.Flush()
			}
			return
		}
	}
}
