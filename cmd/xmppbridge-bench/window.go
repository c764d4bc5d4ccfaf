package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// A window is the client side of XEP-0124's request window, which BOSH and
// the bridge's JSON long-poll (docs/json-api.md) share, driven the way
// browser libraries such as Strophe.js drive it with hold=1:
//
//   - an empty request is sent only when no other request is open, so
//     exactly one request waits at the server while the session is idle and
//     is sent again when it comes back (after wait, or with data);
//   - an element goes out at once on a request of its own while fewer than
//     'requests' are open (the server then answers the older, held one),
//     else it waits and leaves with everything else queued on the next
//     request that is free.
//
// So the client never has more than 'requests' requests open and never
// sends an empty request while another is waiting, which a connection
// manager may take for polling too often (XEP-0124 §12). Answers are handed
// to Recv in rid order. Each session has its own connections (see poster):
// one while idle, two while sending. What differs between the two
// protocols, the bodies of requests and answers, is the windowCodec's.
type window struct {
	po     *poster
	codec  windowCodec
	ctx    context.Context // cancelled at Close or abort: ends every request
	cancel context.CancelFunc
	reqs   sync.WaitGroup // request goroutines

	mu      sync.Mutex
	cond    *sync.Cond // queued elements left, or the stream failed or closes
	rid     int64      // the next request's rid
	sid     string
	maxOpen int  // the server's 'requests'
	open    int  // requests posted and not yet answered
	started bool // the session exists: requests go out by themselves
	restart bool // a stream restart waits for a free request
	queue   []byte
	queued  int // elements in queue
	closing bool
	failed  error
	nextOut int64                  // rid whose elements are delivered next
	pending map[int64]windowAnswer // answers that came back early
	taken   int64                  // highest numbered frame handed to Recv (JSON)
	resume  time.Time              // no request goes out before (pause)
	timer   *time.Timer            // ends a pause

	in chan boshItem
}

// A windowCodec writes a protocol's requests and reads its answers.
type windowCodec interface {
	// appendRequest appends the body of request rid of session sid:
	// payload is the queued elements as appendQueued joined them (nil:
	// an empty request), restart asks for a stream restart (BOSH), taken
	// is the highest numbered frame the client has (the JSON API's ack).
	appendRequest(b []byte, rid int64, sid string, restart bool, payload []byte, taken int64) []byte
	// appendQueued appends el to the payload queued so far, q.
	appendQueued(q, el []byte) []byte
	// appendTerminate appends the body that ends the session.
	appendTerminate(b []byte, rid int64, sid string, taken int64) []byte
	// parseAnswer reads an answer; an answer that ends the session
	// (BOSH terminate, an HTTP error) is an error.
	parseAnswer(status int, data []byte) (windowAnswer, error)
}

// windowAnswer is what an answer carries.
type windowAnswer struct {
	sid      string // on the first answer
	requests int    // the server's window, on the first answer (0: not said)
	els      [][]byte
	first    int64 // number of els[0] where frames are numbered (JSON); 0: not numbered
}

type boshItem struct {
	el  []byte
	err error
}

// boshMaxQueued bounds the elements waiting for a free request; Send blocks
// past it, as a WebSocket write blocks when the socket buffer is full.
const boshMaxQueued = 256

func newWindow(po *poster, codec windowCodec, rid int64) *window {
	w := &window{po: po, codec: codec, rid: rid, nextOut: rid, maxOpen: 2, in: make(chan boshItem, 4096)}
	w.cond = sync.NewCond(&w.mu)
	w.ctx, w.cancel = context.WithCancel(context.Background())
	return w
}

// What the next request carries, if one is sent.
type windowNext int

const (
	reqNone    windowNext = iota // nothing to send, or no request free
	reqRestart                   // xmpp:restart, on a request of its own
	reqPayload                   // every queued element
	reqPoll                      // empty: keeps one request waiting
)

// nextRequest decides whether another request goes out now and with what.
func nextRequest(open, maxOpen int, restart bool, queued int) windowNext {
	switch {
	case open >= maxOpen:
		return reqNone
	case restart:
		return reqRestart
	case queued > 0:
		return reqPayload
	case open == 0:
		return reqPoll
	default:
		return reqNone
	}
}

// create posts the request that creates the session, body, hands its
// answer to Recv and from then on keeps requests going.
func (w *window) create(ctx context.Context, body []byte) error {
	w.mu.Lock()
	rid := w.rid
	w.rid++
	w.open++
	w.mu.Unlock()
	ans, err := w.post(ctx, rid, body)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.open--
	w.deliverLocked(rid, ans, err)
	if err != nil {
		return err
	}
	w.started = true
	w.kickLocked()
	return nil
}

// restartStream has the next free request ask for a stream restart.
func (w *window) restartStream() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.restart = true
	w.kickLocked()
}

// Send queues el for the next free request and sends it if one is free.
// While boshMaxQueued elements wait already it blocks, at most ioTimeout.
func (w *window) Send(el []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	room := w.waitLocked(func() bool { return w.queued < boshMaxQueued })
	switch {
	case w.failed != nil:
		return w.failed
	case w.closing:
		return errors.New("window: closed")
	case !room:
		return fmt.Errorf("window: %d elements still waiting for a request after %v", w.queued, ioTimeout)
	}
	w.queue = w.codec.appendQueued(w.queue, el)
	w.queued++
	w.kickLocked()
	return nil
}

func (w *window) Recv() ([]byte, error) { return w.recv(context.Background()) }

func (w *window) recv(ctx context.Context) ([]byte, error) {
	select {
	case it := <-w.in:
		return it.el, it.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close ends the session with the codec's terminate body, which makes the
// server answer the requests it holds, and then ends whatever is still
// open.
func (w *window) Close() error {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return nil
	}
	w.closing = true
	w.cond.Broadcast()
	live := w.started && w.failed == nil
	rid := w.rid
	w.rid++
	body := w.codec.appendTerminate(nil, rid, w.sid, w.taken)
	w.mu.Unlock()
	if live {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		w.post(ctx, rid, body)
		cancel()
	}
	w.end(errors.New("window: closed"))
	return nil
}

// abort drops the session as a browser whose network went away: every
// connection is closed, and the server is told nothing.
func (w *window) abort() {
	w.mu.Lock()
	if w.closing {
		w.mu.Unlock()
		return
	}
	w.closing = true
	w.cond.Broadcast()
	w.mu.Unlock()
	w.end(errors.New("window: dropped"))
}

// end cuts every request, closes the connections and reports err to Recv.
func (w *window) end(err error) {
	w.cancel()
	w.reqs.Wait()
	w.po.closeIdle()
	w.mu.Lock()
	if w.timer != nil {
		w.timer.Stop()
	}
	w.deliverLocked(0, windowAnswer{}, err)
	w.mu.Unlock()
}

// pause sends no request for d, as a browser that stops reading: what
// the server has for the session waits at the server meanwhile.
func (w *window) pause(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.resume = time.Now().Add(d)
	if w.timer != nil {
		w.timer.Stop()
	}
	w.timer = time.AfterFunc(d, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.kickLocked()
	})
}

// waitLocked waits, at most ioTimeout, until ok, the stream fails or it
// closes, and reports whether ok.
func (w *window) waitLocked(ok func() bool) bool {
	if ok() {
		return true
	}
	timedOut := false
	t := time.AfterFunc(ioTimeout, func() {
		w.mu.Lock()
		timedOut = true
		w.cond.Broadcast()
		w.mu.Unlock()
	})
	defer t.Stop()
	for w.failed == nil && !w.closing && !ok() && !timedOut {
		w.cond.Wait()
	}
	return ok()
}

// reserve waits, at most ioTimeout, until a request may be open beside
// the others, and holds its place for a request the caller sends itself
// (a malformed one). With take it takes the next rid for it (the server
// answers in rid order, so Recv skips it), else rid is the next one,
// still to be used. release gives the place back.
func (w *window) reserve(take bool) (rid int64, sid string, release func(), err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	free := w.waitLocked(func() bool { return w.open < w.maxOpen })
	switch {
	case w.failed != nil:
		return 0, "", nil, w.failed
	case w.closing:
		return 0, "", nil, errors.New("window: closed")
	case !free:
		return 0, "", nil, fmt.Errorf("window: no request free after %v", ioTimeout)
	}
	w.open++
	rid = w.rid
	if take {
		w.rid++
		if w.pending == nil {
			w.pending = map[int64]windowAnswer{}
		}
		w.pending[rid] = windowAnswer{}
	}
	return rid, w.sid, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.open--
		w.cond.Broadcast()
		w.kickLocked()
	}, nil
}

// openRequests is the number of requests posted and not yet answered.
func (w *window) openRequests() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.open
}

// closeIdle closes the session's keep-alive connections that no request
// uses, so an idle session holds one connection, not two.
func (w *window) closeIdle() { w.po.closeIdle() }

// kickLocked sends every request nextRequest allows.
func (w *window) kickLocked() {
	if time.Now().Before(w.resume) {
		return
	}
	for w.started && !w.closing && w.failed == nil {
		var payload []byte
		restart := false
		switch nextRequest(w.open, w.maxOpen, w.restart, w.queued) {
		case reqNone:
			return
		case reqRestart:
			restart = true
			w.restart = false
		case reqPayload:
			payload = w.queue
			w.queue, w.queued = nil, 0
			w.cond.Broadcast()
		case reqPoll:
		}
		rid := w.rid
		w.rid++
		w.open++
		w.reqs.Add(1)
		go w.do(rid, w.codec.appendRequest(make([]byte, 0, 200+len(payload)), rid, w.sid, restart, payload, w.taken))
	}
}

// do posts one request and delivers its answer.
func (w *window) do(rid int64, body []byte) {
	defer w.reqs.Done()
	ans, err := w.post(w.ctx, rid, body)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.open--
	w.cond.Broadcast()
	if w.closing && err != nil {
		return // cut off by Close or abort, which report the end themselves
	}
	w.deliverLocked(rid, ans, err)
	w.kickLocked()
}

// post sends one request and reads its answer; the first answer names the
// session and its window.
func (w *window) post(ctx context.Context, rid int64, body []byte) (windowAnswer, error) {
	status, data, err := w.po.post(ctx, body)
	if err != nil {
		return windowAnswer{}, fmt.Errorf("rid %d: %w", rid, err)
	}
	ans, err := w.codec.parseAnswer(status, data)
	if err != nil {
		return windowAnswer{}, fmt.Errorf("rid %d: %w", rid, err)
	}
	w.mu.Lock()
	w.adoptLocked(ans)
	w.mu.Unlock()
	return ans, nil
}

// adoptLocked takes the session id and window from the first answer.
func (w *window) adoptLocked(ans windowAnswer) {
	if w.sid != "" || ans.sid == "" {
		return
	}
	w.sid = ans.sid
	if ans.requests >= 1 {
		w.maxOpen = ans.requests
	}
}

// deliverLocked hands an answer's elements to Recv once every earlier
// rid's have been handed over; an error ends the stream. Numbered frames
// that Recv has had already (a resent answer) are dropped.
func (w *window) deliverLocked(rid int64, ans windowAnswer, err error) {
	if w.failed != nil {
		return
	}
	if err != nil {
		w.failed = err
		w.cond.Broadcast()
		w.in <- boshItem{err: err}
		return
	}
	if w.pending == nil {
		w.pending = map[int64]windowAnswer{}
	}
	w.pending[rid] = ans
	for {
		ans, ok := w.pending[w.nextOut]
		if !ok {
			return
		}
		delete(w.pending, w.nextOut)
		w.nextOut++
		for i, el := range ans.els {
			if ans.first > 0 {
				n := ans.first + int64(i)
				if n <= w.taken {
					continue
				}
				w.taken = n
			}
			w.in <- boshItem{el: el}
		}
	}
}
