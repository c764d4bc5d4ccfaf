package xmppclient

import (
	"bytes"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

// The keepalive: a server that has said nothing for Config.Keepalive is
// asked for a sign of life, and one that then says nothing for
// Config.KeepaliveTimeout is taken for dead: the socket is closed and Next
// fails with a remote-connection-failed *Error. A server that is merely
// slow to write, or a TCP connection that still accepts bytes into a hung
// server's buffers, would otherwise keep a session that can never carry
// anything again, and nobody would know.
//
// The question must be one the server answers and the browser never sees,
// and on a relayed stream it must not upset what the browser's own client
// counts: before resource binding nothing may be sent; once the browser
// has enabled stream management (XEP-0198) an XEP-0199 ping would be a
// stanza the server counts and the browser does not, so the question is
// then an <r/>, whose <a/> answers are matched to their askers in order;
// otherwise it is a ping, whose answer is recognised by its id. The Conn
// learns which by watching what goes by: the browser's <enable/>, <resume/>
// and <r/> written, the server's bind result, <enabled/>, <resumed/>,
// <failed/> and <a/> read.

// Defaults of Config.Keepalive and Config.KeepaliveTimeout.
const (
	DefaultKeepalive        = 60 * time.Second
	DefaultKeepaliveTimeout = 20 * time.Second
)

const (
	nsPing     = "urn:xmpp:ping"
	nsSMPrefix = "urn:xmpp:sm:" // XEP-0198 versions 2 and 3
)

var errNoSignOfLife = errors.New("xmppclient: the server gave no sign of life in answer to a keepalive")

// keepalive is a Conn's watch on its server. Its lock is taken after
// Conn.wmu when both are held: a question is appended to acks and written
// under wmu, so acks is in the order of the socket.
type keepalive struct {
	interval, timeout time.Duration

	// heard counts items read from the server (whitespace included); the
	// reader adds to it, the timer reads it.
	heard  atomic.Uint64
	failed atomic.Bool // the server gave no sign of life: the Conn was closed

	mu      sync.Mutex
	timer   *time.Timer
	stopped bool
	seen    uint64 // heard at the last tick
	asked   bool   // a question is out and nothing was heard since

	bound     bool   // stanzas may be sent (a resource is bound, or resumed)
	smAsked   bool   // the browser sent <enable/> or <resume/>: no answer yet
	smNS      string // stream management is on, in this namespace
	resumable bool   // and the server would keep the session for a resume
	pingID    string // our ping that is out, whose answer is ours
	pings     int    // pings sent, for ids
	acks      []bool // who asked each <r/> not yet answered, oldest first: true for us
}

// startKeepalive begins watching, once Dial or Login has handed over the
// stream. bound says the stream already has a resource (Login).
func (c *Conn) startKeepalive(bound bool) {
	ka := &c.ka
	ka.interval, ka.timeout = c.cfg.Keepalive, c.cfg.KeepaliveTimeout
	if ka.interval < 0 {
		return
	}
	ka.mu.Lock()
	ka.bound = bound
	ka.seen = ka.heard.Load()
	ka.timer = time.AfterFunc(ka.interval, c.tick)
	ka.mu.Unlock()
}

// stopKeepalive stops the watch for good (CloseStream, Close).
func (c *Conn) stopKeepalive() {
	ka := &c.ka
	ka.mu.Lock()
	ka.stopped = true
	if ka.timer != nil {
		ka.timer.Stop()
	}
	ka.mu.Unlock()
}

// tick runs on the timer: every interval while the server talks, after
// timeout once a question is out.
func (c *Conn) tick() {
	ka := &c.ka
	heard := ka.heard.Load()
	ka.mu.Lock()
	if ka.stopped {
		ka.mu.Unlock()
		return
	}
	switch {
	case heard != ka.seen:
		ka.seen, ka.asked = heard, false
		ka.timer.Reset(ka.interval)
		ka.mu.Unlock()
	case ka.asked:
		ka.stopped = true
		ka.mu.Unlock()
		ka.failed.Store(true)
		_ = c.Close()
	default:
		ka.mu.Unlock()
		asked := c.ask()
		ka.mu.Lock()
		if !ka.stopped {
			ka.asked = asked
			if asked {
				ka.timer.Reset(ka.timeout)
			} else {
				ka.timer.Reset(ka.interval)
			}
		}
		ka.mu.Unlock()
	}
}

// ask writes a question the server must answer, if the stream allows one
// now, and reports whether it did.
func (c *Conn) ask() bool {
	ka := &c.ka
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.werr != nil || c.closedSt {
		return false
	}
	ka.mu.Lock()
	var q []byte
	switch {
	case !ka.bound || ka.smAsked:
	case ka.smNS != "":
		q = []byte("<r xmlns='" + ka.smNS + "'/>")
		ka.acks = append(ka.acks, true)
	default:
		ka.pings++
		ka.pingID = "xmppbridge-keepalive-" + strconv.Itoa(ka.pings)
		q = []byte("<iq type='get' id='" + ka.pingID + "'><ping xmlns='" + nsPing + "'/></iq>")
	}
	ka.mu.Unlock()
	if q == nil {
		return false
	}
	if err := c.nc.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout)); err != nil {
		return false
	}
	return c.writeLocked(q) == nil
}

// wrote notes what the browser's element b, about to be written, says
// about stream management. c.wmu is held.
func (c *Conn) wrote(b []byte) {
	local := writtenName(b)
	switch local {
	case "enable", "resume", "r":
	default:
		return
	}
	el, err := xmlsplit.Parse(b, xmlsplit.ParseOptions{})
	if err != nil {
		return
	}
	ns := nsOf(&el)
	if len(ns) <= len(nsSMPrefix) || ns[:len(nsSMPrefix)] != nsSMPrefix {
		return
	}
	ka := &c.ka
	ka.mu.Lock()
	switch local {
	case "r":
		if ka.smNS != "" {
			ka.acks = append(ka.acks, false)
		}
	default:
		// From now on a ping's answer would be a stanza the server counts:
		// the one out is the browser's to see, and no new one goes.
		ka.smAsked, ka.pingID = true, ""
	}
	ka.mu.Unlock()
}

// writtenName is the local name of the element b starts with, cheaply.
func writtenName(b []byte) string {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) < 2 || b[0] != '<' {
		return ""
	}
	end := 1
	for end < len(b) && b[end] != ' ' && b[end] != '/' && b[end] != '>' && b[end] != '\t' && b[end] != '\n' && b[end] != '\r' {
		end++
	}
	name := b[1:end]
	if i := bytes.IndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	switch string(name) {
	case "enable":
		return "enable"
	case "resume":
		return "resume"
	case "r":
		return "r"
	}
	return ""
}

// read notes what an element from the server says about the stream, and
// reports whether it answers our own question and must not be relayed.
// Only the goroutine calling Next calls it.
func (c *Conn) read(el *xmlsplit.Element) (ours bool) {
	ka := &c.ka
	local := localName(el.Name)
	switch local {
	case "iq", "a", "enabled", "resumed", "failed":
	default:
		return false
	}
	ka.mu.Lock()
	defer ka.mu.Unlock()
	if local == "iq" {
		if ka.pingID != "" {
			if id, ok := el.Attr("id"); ok && string(id) == ka.pingID {
				ka.pingID = ""
				return true
			}
		}
		if !ka.bound && c.isBindResult(el) {
			ka.bound = true
		}
		return false
	}
	ns := c.elementNS(el)
	if len(ns) <= len(nsSMPrefix) || ns[:len(nsSMPrefix)] != nsSMPrefix {
		return false
	}
	switch local {
	case "a":
		if len(ka.acks) == 0 {
			return false
		}
		mine := ka.acks[0]
		ka.acks = ka.acks[1:]
		return mine
	case "enabled":
		ka.smAsked, ka.smNS = false, ns
		v, _ := el.Attr("resume")
		ka.resumable = string(v) == "true" || string(v) == "1"
	case "resumed":
		ka.smAsked, ka.smNS, ka.bound, ka.resumable = false, ns, true, true
	case "failed":
		ka.smAsked, ka.smNS, ka.acks = false, "", nil
	}
	return false
}

// Resumable reports whether the stream has stream management with
// resumption (XEP-0198 <enabled resume='true'/>, or <resumed/>): a server
// that sees its connection drop without a stream close then keeps the
// session for the client to resume, through this bridge or another.
func (c *Conn) Resumable() bool {
	c.ka.mu.Lock()
	defer c.ka.mu.Unlock()
	return c.ka.resumable
}

// isBindResult reports whether an iq from the server is the result of a
// resource binding (RFC 6120 §7.6).
func (c *Conn) isBindResult(el *xmlsplit.Element) bool {
	if typ, _ := el.Attr("type"); string(typ) != "result" || !bytes.Contains(el.Raw, []byte(nsBind)) {
		return false
	}
	ev := Event{Data: el.Raw, NS: c.rd.ns.nsFor(el, &c.rd.sp), NSAt: el.NSAt}
	iq, err := parseEvent(&ev)
	return err == nil && findChild(&iq, "bind", nsBind) != nil
}

// elementNS is the namespace of a top-level element's name.
func (c *Conn) elementNS(el *xmlsplit.Element) string {
	attr := "xmlns"
	var prefix []byte
	if i := bytes.IndexByte(el.Name, ':'); i >= 0 {
		prefix = el.Name[:i]
		attr = "xmlns:" + string(prefix)
	}
	if v, ok := el.Attr(attr); ok {
		return unescapeString(v)
	}
	ns, _ := c.rd.sp.Namespace(prefix)
	return ns
}

// readFailure is the error Next gives for a failed read: the keepalive's
// own when it closed the socket.
func (c *Conn) readFailure(err error) error {
	if c.ka.failed.Load() {
		return &Error{Cond: condRemoteConnectionFailed, Err: errNoSignOfLife}
	}
	return err
}
