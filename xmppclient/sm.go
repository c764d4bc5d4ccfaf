package xmppclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

// Stream management (XEP-0198) that the Conn does itself, on a stream
// Login opened with Config.StreamManagement: what the caller's own client
// would do on a relayed stream. The Conn counts the stanzas it reads and
// numbers them (Event.Seq), but acknowledges to the server only what its
// owner says was handled (Handled) — for the bridge, what the browser has
// acknowledged — so that a server keeps, and sends again after a resume,
// whatever never reached the browser. It keeps a copy of every stanza it
// writes until the server acknowledges it (asking with <r/> after each
// burst), and reports each acknowledgement as an EventAcked. Resume opens a
// new stream in place of one whose link broke, in this process or another.

const nsSM3 = "urn:xmpp:sm:3"

// ErrResumeFailed is what Resume's *Error wraps when the server refused to
// resume (XEP-0198 <failed/>): the session is gone; log in again.
var ErrResumeFailed = errors.New("xmppclient: the server could not resume the stream")

// sm is a Conn's own stream management state. on is set while the stream
// is negotiated, before anyone else uses the Conn; the rest under mu.
type sm struct {
	on        bool // enabled on this stream by the Conn
	mu        sync.Mutex
	id        string // the server's resumption id; "" when it offers none
	max       time.Duration
	location  string
	inSeen    uint64   // stanzas read
	inHandled uint64   // what the owner handled: our h for the server
	inTold    uint64   // the h of our latest <a/>
	out       [][]byte // copies of stanzas written and not yet acknowledged
	outAcked  uint64   // stanzas of ours the server acknowledged
	asking    bool     // an <r/> of ours is out
}

// SMState is a snapshot of the Conn's own stream management.
type SMState struct {
	// On: the Conn enabled XEP-0198 (Login with Config.StreamManagement,
	// and the server offered it), or resumed a stream.
	On bool
	// ID is the server's resumption id, empty when the server will not
	// keep the session for a resume. Max is how long it keeps it at most
	// (0: not said); Location, where to resume (empty: anywhere).
	ID       string
	Max      time.Duration
	Location string
	// In is how many stanzas the Conn has read; Handled how many of them
	// the owner handled, which is what the server was told.
	In, Handled uint64
	// Sent is how many stanzas the Conn wrote, Acked how many of them the
	// server acknowledged.
	Sent, Acked uint64
}

// SM returns the state of the Conn's own stream management.
func (c *Conn) SM() SMState {
	s := &c.sm
	s.mu.Lock()
	defer s.mu.Unlock()
	return SMState{
		On: s.on, ID: s.id, Max: s.max, Location: s.location,
		In: s.inSeen, Handled: s.inHandled,
		Sent: s.outAcked + uint64(len(s.out)), Acked: s.outAcked,
	}
}

// enableSM asks the server for stream management with resumption, after
// resource binding, if its features offer XEP-0198 version 3. A refusal
// leaves the stream as it was.
func (c *Conn) enableSM(feat *xmlsplit.Element) error {
	if findChild(feat, "sm", nsSM3) == nil {
		return nil
	}
	if err := c.writeNegotiating([]byte("<enable xmlns='" + nsSM3 + "' resume='true'/>")); err != nil {
		return err
	}
	// What comes before the answer is kept aside until it is in: Next
	// hands out c.early first, so keeping it there at once would read the
	// same element back for ever.
	var early []Event
	defer func() { c.early = append(c.early, early...) }()
	for {
		ev, el, err := c.nextElement()
		if err != nil {
			return err
		}
		switch {
		case is(&el, "enabled", nsSM3):
			c.smEnabled(&el)
			return nil
		case is(&el, "failed", nsSM3):
			return nil
		default:
			// Sent before <enabled/>, so not counted by the server: the
			// caller gets it first, unnumbered.
			early = append(early, ev)
		}
	}
}

// smEnabled takes the server's <enabled/> in.
func (c *Conn) smEnabled(el *xmlsplit.Element) {
	s := &c.sm
	s.mu.Lock()
	s.on = true
	if v, ok := el.Attr("id"); ok {
		if r, _ := el.Attr("resume"); string(r) == "true" || string(r) == "1" {
			s.id = unescapeString(v)
		}
	}
	if v, ok := el.Attr("max"); ok {
		if n, err := strconv.Atoi(string(v)); err == nil && n > 0 {
			s.max = time.Duration(n) * time.Second
		}
	}
	if v, ok := el.Attr("location"); ok {
		s.location = unescapeString(v)
	}
	s.mu.Unlock()
	ka := &c.ka
	ka.mu.Lock()
	ka.smNS, ka.resumable, ka.bound = nsSM3, s.id != "", true
	ka.mu.Unlock()
}

// stanzaName reports whether a top-level element named name (possibly
// prefixed) is a stanza for XEP-0198's counts: message, presence or iq of
// the stream's default namespace.
func stanzaName(name []byte) bool {
	switch string(name) {
	case "message", "presence", "iq":
		return true
	}
	return false
}

// smCount counts a stanza read, on the reader, and numbers its event.
func (c *Conn) smCount(el *xmlsplit.Element, ev *Event) {
	if !c.sm.on || !stanzaName(el.Name) {
		return
	}
	s := &c.sm
	s.mu.Lock()
	s.inSeen++
	ev.Seq = s.inSeen
	s.mu.Unlock()
}

// smRead handles, on the reader, what a top-level element read means for
// the Conn's own stream management: the server's <r/> is answered, and is
// not for the caller (deliver false); its <a/> is taken in and becomes an
// EventAcked in ev. Anything else is delivered as it is.
func (c *Conn) smRead(el *xmlsplit.Element, ev *Event) (deliver bool) {
	s := &c.sm
	local := localName(el.Name)
	if local != "r" && local != "a" || c.elementNS(el) != nsSM3 {
		return true
	}
	if local == "r" {
		_ = c.writeAck()
		return false
	}
	// <a/>: ours to take in, whoever asked (the keepalive or smWrote).
	c.ka.mu.Lock()
	if len(c.ka.acks) > 0 {
		c.ka.acks = c.ka.acks[1:]
	}
	c.ka.mu.Unlock()
	v, _ := el.Attr("h")
	h, err := strconv.ParseUint(string(v), 10, 32)
	s.mu.Lock()
	s.asking = false
	if err == nil && h >= s.outAcked&0xffffffff {
		// h counts modulo 2^32 (XEP-0198 §5).
		n := min(uint64(uint32(h)-uint32(s.outAcked)), uint64(len(s.out)))
		clear(s.out[:n])
		s.out = s.out[n:]
		s.outAcked += n
	}
	acked, again := s.outAcked, len(s.out) > 0
	s.mu.Unlock()
	*ev = Event{Kind: EventAcked, Seq: acked}
	if again {
		c.askAck()
	}
	return true
}

// smWrote keeps a copy of a stanza written by the caller, under wmu, until
// the server acknowledges it, and reports whether b was one.
func (c *Conn) smWrote(b []byte) bool {
	if !stanzaName([]byte(writtenLocal(b))) {
		return false
	}
	s := &c.sm
	s.mu.Lock()
	s.out = append(s.out, bytes.Clone(b))
	s.mu.Unlock()
	return true
}

// askAck writes an <r/> unless one of ours is out.
func (c *Conn) askAck() {
	s := &c.sm
	s.mu.Lock()
	if s.asking {
		s.mu.Unlock()
		return
	}
	s.asking = true
	s.mu.Unlock()
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil || c.closedSt {
		return
	}
	c.ka.mu.Lock()
	c.ka.acks = append(c.ka.acks, true)
	c.ka.mu.Unlock()
	if c.nc.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout)) == nil {
		_ = c.writeLocked([]byte("<r xmlns='" + nsSM3 + "'/>"))
	}
}

// Handled says that the owner has handled the stanzas read up to Seq h
// (for the bridge: the browser has them), which the server is then told
// (<a/>), so that it keeps and would send again only those after. h never
// goes back, nor past what was read.
func (c *Conn) Handled(h uint64) error {
	s := &c.sm
	s.mu.Lock()
	if !s.on {
		s.mu.Unlock()
		return nil
	}
	h = min(max(h, s.inHandled), s.inSeen)
	s.inHandled = h
	told := s.inTold
	s.mu.Unlock()
	if h == told {
		return nil
	}
	return c.writeAck()
}

// writeAck writes <a h/> with what is handled as it writes: an h taken
// before the write lock could be older than one another writer wrote
// meanwhile, and a server ends a stream whose h goes back.
func (c *Conn) writeAck() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil {
		return c.werr
	}
	if c.closedSt {
		return errStreamClosed
	}
	if err := c.nc.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout)); err != nil {
		return err
	}
	c.sm.mu.Lock()
	h := c.sm.inHandled
	c.sm.inTold = h
	c.sm.mu.Unlock()
	return c.writeLocked([]byte("<a xmlns='" + nsSM3 + "' h='" + strconv.FormatUint(h&0xffffffff, 10) + "'/>"))
}

// writtenLocal is the local name of the element b starts with, or "".
func writtenLocal(b []byte) string {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) < 2 || b[0] != '<' {
		return ""
	}
	end := 1
	for end < len(b) && !bytes.ContainsRune([]byte(" \t\r\n/>"), rune(b[end])) {
		end++
	}
	if bytes.IndexByte(b[1:end], ':') >= 0 {
		return "" // prefixed: no stanza of the default namespace
	}
	return string(b[1:end])
}

// Resumption says which stream Resume resumes: the id the server gave,
// what the Conn that broke had read, and what it had written that the
// server did not acknowledge. ResumptionOf makes one from a broken Conn; a
// process that has none of it (another bridge) sets ID and In from what it
// was handed and leaves the rest empty.
type Resumption struct {
	ID string
	// JID is the full JID the session was bound to.
	JID string
	// In is the h to tell the server: the stanzas of the old stream that
	// need not come again.
	In uint64
	// Out are stanzas written on the old stream and not acknowledged,
	// oldest first; OutAcked how many before them the server had
	// acknowledged. Resume sends again those the server says it lacks.
	Out      [][]byte
	OutAcked uint64
}

// ResumptionOf is what Resume needs to continue c's stream after its link
// broke: everything read counts as handled, for the caller has it.
func ResumptionOf(c *Conn) Resumption {
	s := &c.sm
	s.mu.Lock()
	defer s.mu.Unlock()
	return Resumption{ID: s.id, JID: c.jid, In: s.inSeen, Out: slices.Clone(s.out), OutAcked: s.outAcked}
}

// Resume opens a new stream and resumes the XEP-0198 session r names in
// it: it connects and authenticates as Login does (with cred, whose Secret
// may stand for the password), then asks for the session instead of binding
// a resource. The server then sends again what it had sent after r.In, and
// Resume writes again what the server lacks of r.Out. A refusal is an
// *Error with undefined-condition (or the server's condition) wrapping
// ErrResumeFailed.
func Resume(ctx context.Context, cfg Config, cred Credentials, r Resumption) (*Conn, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if r.ID == "" {
		return nil, &Error{Cond: condUndefined, Err: fmt.Errorf("%w: no resumption id", ErrResumeFailed)}
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	c, err := open(ctx, &cfg, false)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	err = c.negotiate(ctx, func() error { return c.resume(cred, r) })
	cfg.observe(PhaseResume, start, err)
	if err != nil {
		c.Close()
		return nil, err
	}
	c.jid = r.JID
	c.startKeepalive(true)
	return c, nil
}

func (c *Conn) resume(cred Credentials, r Resumption) error {
	feat, err := c.readFeatures()
	if err != nil {
		return err
	}
	if err := c.authenticate(&feat, cred); err != nil {
		return err
	}
	if err := c.startStream(); err != nil {
		return err
	}
	if feat, err = c.readFeatures(); err != nil {
		return err
	}
	if findChild(&feat, "sm", nsSM3) == nil {
		return &Error{Cond: condUndefined, Err: fmt.Errorf("%w: the server offers no stream management now", ErrResumeFailed)}
	}
	if err := c.writeNegotiating([]byte("<resume xmlns='" + nsSM3 + "' previd='" + string(appendEscaped(nil, r.ID)) + "' h='" + strconv.FormatUint(r.In&0xffffffff, 10) + "'/>")); err != nil {
		return err
	}
	for {
		_, el, err := c.nextElement()
		if err != nil {
			return err
		}
		switch {
		case is(&el, "resumed", nsSM3):
			return c.smResumed(&el, r)
		case is(&el, "failed", nsSM3):
			cond, text := errorCondition(&el, nsStanzaErr)
			if cond == "" || !streamConditions[cond] {
				cond = condUndefined
			}
			return &Error{Cond: cond, Text: text, Err: ErrResumeFailed}
		}
	}
}

// smResumed takes the server's <resumed/> in and writes again what it
// lacks of ours.
func (c *Conn) smResumed(el *xmlsplit.Element, r Resumption) error {
	v, _ := el.Attr("h")
	h, err := strconv.ParseUint(string(v), 10, 32)
	if err != nil {
		return remoteFailed("<resumed/> without a valid h")
	}
	s := &c.sm
	s.mu.Lock()
	s.inSeen, s.inHandled, s.inTold = r.In, r.In, r.In
	// The server has d more of our stanzas than it had acknowledged: n
	// of those we kept, and, when another process wrote them (r.Out is
	// then empty), stanzas we never saw, which count all the same.
	d := uint64(uint32(h) - uint32(r.OutAcked))
	if uint32(h) < uint32(r.OutAcked) {
		d = 0
	}
	n := min(d, uint64(len(r.Out)))
	s.outAcked = r.OutAcked + d
	s.out = nil
	s.on, s.id = true, r.ID
	s.mu.Unlock()
	ka := &c.ka
	ka.mu.Lock()
	ka.smNS, ka.resumable, ka.bound = nsSM3, true, true
	ka.mu.Unlock()
	for _, b := range r.Out[n:] {
		if err := c.writeNegotiating(b); err != nil {
			return err
		}
		c.smWrote(b)
	}
	if len(r.Out) > int(n) {
		c.askAck()
	}
	return nil
}
