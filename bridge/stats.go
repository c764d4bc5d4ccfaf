package bridge

import (
	"sync"
	"sync/atomic"

	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// Named is what a Transport may also implement to have its sessions
// counted apart in Hub.Stats, under the name it returns: a constant such
// as "websocket", the same for every session of the transport. Sessions of
// a transport without it are counted under "other".
type Named interface {
	TransportName() string
}

// TransportStats are the counts of one transport's sessions, over the
// Hub's life unless said otherwise.
type TransportStats struct {
	// Open is the number of sessions open now: asked for and not yet
	// ended (Opened minus the sum of Ended, give or take a session being
	// counted).
	Open int64
	// Opened counts the sessions Hub.Open was asked for, refused ones
	// included: each ends exactly once, counted in Ended.
	Opened uint64
	// Ended counts the sessions that ended, by reason; every Reason has
	// an entry. A session refused at once (too many sessions, an unknown
	// domain, a login the server refused) ends with that reason, so
	// Ended[ReasonNotAuthorized] counts the bridge-side logins the server
	// refused, and Ended[ReasonSlowConsumer] the sessions whose queue
	// overflowed.
	Ended map[Reason]uint64
	// StanzasIn and BytesIn count the elements the transport sent
	// upstream (Session.Send) and their bytes as XML; StanzasOut and
	// BytesOut the elements from the server queued for the transport,
	// with the namespace declarations they borrow from the stream.
	// Stream headers, session ends and acknowledgements of the stream
	// management the bridge does are not elements.
	StanzasIn, BytesIn, StanzasOut, BytesOut uint64
}

// Reasons lists every Reason, in order: for metrics that name each one.
func Reasons() []Reason {
	list := make([]Reason, numReasons)
	for r := range numReasons {
		list[r] = r
	}
	return list
}

// otherTransport is the name sessions of a transport that is not Named
// are counted under.
const otherTransport = "other"

// counters are one transport's counts. Every session of the transport
// adds to them, so what the browser sends (the transport's goroutines) and
// what the server sends (the sessions' readers) are kept on separate cache
// lines: the two directions of a busy bridge do not fight over one.
type counters struct {
	name   string
	open   atomic.Int64
	opened atomic.Uint64
	ended  [numReasons]atomic.Uint64

	_                  [64]byte
	stanzasIn, bytesIn atomic.Uint64
	_                  [48]byte
	stanzasOut, bytes  atomic.Uint64
}

// in counts an element from the browser.
func (c *counters) in(n int) {
	c.stanzasIn.Add(1)
	c.bytesIn.Add(uint64(n))
}

// out counts an item queued for the browser, if it is an element (a
// stanza, a nonza or the server's stream error).
func (c *counters) out(it *Item) {
	if it.Kind == xmppclient.EventElement || it.Kind == xmppclient.EventStreamError {
		c.stanzasOut.Add(1)
		c.bytes.Add(uint64(len(it.Data) + len(it.NS)))
	}
}

// hubStats are the counts a Hub keeps by transport, and those of logins.
type hubStats struct {
	mu    sync.Mutex
	kinds map[string]*counters
	order []*counters // in the order first seen

	loginsFailed, loginsThrottled atomic.Uint64
}

// opened counts a session of t being opened and returns the counters it
// adds to for the rest of its life. It runs once per session.
func (hs *hubStats) opened(t Transport) *counters {
	name := otherTransport
	if n, ok := t.(Named); ok {
		name = n.TransportName()
	}
	hs.mu.Lock()
	c := hs.kinds[name]
	if c == nil {
		if hs.kinds == nil {
			hs.kinds = make(map[string]*counters)
		}
		c = &counters{name: name}
		hs.kinds[name] = c
		hs.order = append(hs.order, c)
	}
	hs.mu.Unlock()
	c.opened.Add(1)
	c.open.Add(1)
	return c
}

// ended counts a session's end.
func (hs *hubStats) ended(c *counters, r Reason) {
	if r >= numReasons {
		r = ReasonInternal
	}
	c.ended[r].Add(1)
	c.open.Add(-1)
}

// fill adds the counts by transport and of logins to st.
func (hs *hubStats) fill(st *Stats) {
	hs.mu.Lock()
	list := hs.order[:len(hs.order):len(hs.order)]
	hs.mu.Unlock()
	st.Transports = make(map[string]TransportStats, len(list))
	var refused uint64
	for _, c := range list {
		ts := TransportStats{
			Open:       c.open.Load(),
			Opened:     c.opened.Load(),
			Ended:      make(map[Reason]uint64, numReasons),
			StanzasIn:  c.stanzasIn.Load(),
			BytesIn:    c.bytesIn.Load(),
			StanzasOut: c.stanzasOut.Load(),
			BytesOut:   c.bytes.Load(),
		}
		for r := range numReasons {
			ts.Ended[r] = c.ended[r].Load()
		}
		refused += ts.Ended[ReasonNotAuthorized]
		st.Transports[c.name] = ts
	}
	st.LoginsFailed = refused + hs.loginsFailed.Load()
	st.LoginsThrottled = hs.loginsThrottled.Load()
}

// CountLoginFailed counts a login the server refused that ended no
// session of the Hub's, such as a relayed SASL <failure/> a transport
// noticed. A bridge-side login the server refused is counted already: its
// session ends with ReasonNotAuthorized.
func (h *Hub) CountLoginFailed() { h.st.loginsFailed.Add(1) }

// CountLoginThrottled counts a login attempt that the bridge's own limits
// refused before the server saw it (too many failures from one address or
// for one account), whichever transport it came through.
func (h *Hub) CountLoginThrottled() { h.st.loginsThrottled.Add(1) }
