package jsonapi

import (
	"bytes"
	"net/http"
	"strconv"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/httphold"
)

// eventStream is a session's events stream: frames go out as they come,
// written by httphold (no goroutine while nothing is to be written), and a
// comment every Heartbeat keeps proxies from timing the stream out.
type eventStream struct {
	st     *httphold.Stream
	cursor uint64 // the highest frame written
	beat   *time.Timer
	over   bool
}

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

	s.lp.Lock()
	if s.sid != q.Get("sid") {
		// Resumed under another sid just now.
		s.lp.Unlock()
		h.leave()
		h.reject(w, r, http.StatusNotFound, errItemNotFound, "no such session")
		return
	}
	s.backLocked()
	// Without an id, from what the page acknowledged: frames written to a
	// stream that broke may never have arrived.
	cursor := s.acked
	if lastID != "" {
		n, err := strconv.ParseUint(lastID, 10, 64)
		if err != nil || n >= s.next {
			s.lp.Unlock()
			h.leave()
			h.reject(w, r, http.StatusBadRequest, errBadRequest, "Last-Event-ID is not an event of this session")
			return
		}
		// Frames the page acknowledged are gone; it has them.
		cursor = max(n, s.acked)
	}
	if s.ended && cursor+1 >= s.next {
		// The close frame has been read: an EventSource reconnecting after
		// it learns that the session is over and stops.
		s.lp.Unlock()
		h.leave()
		h.reject(w, r, http.StatusNotFound, errItemNotFound, "the session has ended")
		return
	}
	s.ackLocked(cursor)
	s.sent = min(s.sent, cursor) // what follows goes again
	if old := s.events; old != nil {
		s.stopStreamLocked(old) // a newer stream sends from here on
	}

	var head []byte
	if h.cfg.Padding > 0 {
		head = append(head, ':')
		head = append(head, bytes.Repeat([]byte{' '}, h.cfg.Padding)...)
		head = append(head, '\n')
	}
	head = append(head, "retry: 2000\n\n"...)
	hd := http.Header{
		"Content-Type":      {"text/event-stream; charset=utf-8"},
		"Cache-Control":     {"no-store"},
		"X-Accel-Buffering": {"no"}, // nginx: do not buffer
	}
	es := &eventStream{cursor: cursor}
	es.st = httphold.StartStream(w, r, httphold.Response{Status: http.StatusOK, Header: hd, Body: head}, httphold.Options{
		WriteTimeout: h.cfg.WriteTimeout,
		OnGone:       func() { s.streamGone(es) },
		OnDone:       h.leave,
	})
	es.beat = time.AfterFunc(h.cfg.Heartbeat, func() { s.heartbeat(es) })
	s.events = es
	s.lp.Unlock()
	s.flushHandled()
	s.lp.Attach()
	s.lp.Lock()
	s.pushLocked()
	s.lp.Unlock()
	es.st.Wait()
}

// pushLocked writes the frames the events stream has not carried yet, and
// ends it after the close frame.
func (s *session) pushLocked() {
	es := s.events
	if es == nil || es.over {
		return
	}
	s.fillLocked()
	_, frames := s.sinceLocked(es.cursor)
	if len(frames) == 0 {
		return
	}
	var buf []byte
	for _, f := range frames {
		buf = strconv.AppendUint(append(buf, "id: "...), f.n, 10)
		buf = append(buf, "\ndata: "...)
		buf = append(buf, f.data...)
		buf = append(buf, "\n\n"...)
		es.cursor = f.n
	}
	s.sent = max(s.sent, es.cursor)
	es.st.Write(buf)
	if s.ended && es.cursor == s.next-1 {
		s.stopStreamLocked(es)
	}
}

// heartbeat writes a comment on the stream, every Heartbeat.
func (s *session) heartbeat(es *eventStream) {
	s.lp.Lock()
	if !es.over {
		es.st.Write([]byte(":\n\n"))
		es.beat.Reset(s.h.cfg.Heartbeat)
	}
	s.lp.Unlock()
}

// stopStreamLocked ends an events stream: replaced, or after the close
// frame.
func (s *session) stopStreamLocked(es *eventStream) {
	if es.over {
		return
	}
	es.over = true
	es.beat.Stop()
	es.st.Close()
	if s.events == es {
		s.events = nil
	}
	s.lp.DetachLocked()
}

// streamGone is told that the browser left an events stream.
func (s *session) streamGone(es *eventStream) {
	s.lp.Lock()
	s.stopStreamLocked(es)
	s.lp.Unlock()
}
