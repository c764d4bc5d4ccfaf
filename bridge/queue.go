package bridge

import (
	"sync"

	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// Item is one thing for the browser: a stream header, an element or the
// stream error from the server (xmppclient.EventHeader, EventElement,
// EventStreamError; never EventDropped), or the session's end.
type Item struct {
	xmppclient.Event
	// End is set on the final item of a session, and only there; it has no
	// Event. Its Reason is ReasonNormal or ReasonUpstreamClosed for a clean
	// end.
	End *CloseError
}

// headerCost is what a stream header counts for against the queue bound.
const headerCost = 256

func (it *Item) cost() int {
	if it.Kind == xmppclient.EventHeader {
		return headerCost
	}
	return len(it.Data) + len(it.NS)
}

// queue is a session's bounded outbound queue. It holds no memory while
// empty, so an idle session costs only the struct.
type queue struct {
	mu       sync.Mutex
	items    []Item
	bytes    int
	maxBytes int
	// idle is set when the consumer has found the queue empty: the next
	// item must wake it.
	idle  bool
	ended bool
}

// push adds an item. It reports whether the consumer must be woken, and
// false for ok when the item did not fit (or the queue has ended).
func (q *queue) push(it Item) (wake, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ended {
		return false, false
	}
	c := it.cost()
	if q.bytes+c > q.maxBytes && len(q.items) > 0 {
		return false, false
	}
	if q.items == nil {
		q.items = (*itemPool.Get().(*[]Item))[:0]
	}
	q.items = append(q.items, it)
	q.bytes += c
	wake, q.idle = q.idle, false
	return wake, true
}

// end queues the final item, after the pending ones or, with discard,
// instead of them. Only the first call counts; later calls report false.
func (q *queue) end(e *CloseError, discard bool) (wake, first bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ended {
		return false, false
	}
	q.ended = true
	if discard {
		clear(q.items)
		q.items, q.bytes = q.items[:0], 0
	}
	q.items = append(q.items, Item{End: e})
	wake, q.idle = q.idle, false
	return wake, true
}

// pull hands over every pending item, in the queue's own array (the queue
// lets go of it: an idle session holds no item memory). When there is none
// it returns nil and marks the queue idle, so the next push or end wakes
// the consumer.
func (q *queue) pull() []Item {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		q.idle = true
		return nil
	}
	items := q.items
	q.items, q.bytes = nil, 0
	return items
}

// release gives a batch's array back for the next push to reuse, so a busy
// session does not grow a new array for every batch.
func release(items []Item) {
	if cap(items) == 0 || cap(items) > maxPooledItems {
		return
	}
	clear(items)
	items = items[:0]
	itemPool.Put(&items)
}

// maxPooledItems bounds the arrays kept in itemPool, so one burst does not
// pin a large array.
const maxPooledItems = 256

var itemPool = sync.Pool{New: func() any { s := make([]Item, 0, 8); return &s }}

func (q *queue) isEnded() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.ended
}
