package bufpool

import "sync"

// Size is the capacity of a new buffer: most BOSH bodies, WebSocket
// messages and response heads fit without growing it.
const Size = 4096

// MaxKept is the largest capacity Put keeps: a buffer grown past it for one
// large message is left to the garbage collector rather than held by the
// pool.
const MaxKept = 64 << 10

var pool = sync.Pool{New: func() any { b := make([]byte, 0, Size); return &b }}

// Get returns an empty buffer. The pointer lets a caller grow the buffer
// and hand the grown one back.
func Get() *[]byte { return pool.Get().(*[]byte) }

// Put gives bp back for reuse, unless it grew past MaxKept.
func Put(bp *[]byte) {
	if cap(*bp) > MaxKept {
		return
	}
	*bp = (*bp)[:0]
	pool.Put(bp)
}
