package xmppclient

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

const nsSASL = "urn:ietf:params:xml:ns:xmpp-sasl"

// isStreamElement reports whether a top-level element is named local in
// the streams namespace (<stream:features/>, <stream:error/>), whatever
// prefix the server chose for it.
func isStreamElement(el *xmlsplit.Element, local string, sp *xmlsplit.Splitter) bool {
	name := el.Name
	i := bytes.IndexByte(name, ':')
	if string(name[i+1:]) != local {
		return false
	}
	attr := "xmlns"
	var prefix []byte
	if i >= 0 {
		prefix = name[:i]
		attr = "xmlns:" + string(prefix)
	}
	if v, ok := el.Attr(attr); ok {
		return unescapeString(v) == nsStreams
	}
	ns, ok := sp.Namespace(prefix)
	return ok && ns == nsStreams
}

// filterFeatures returns a copy of the features element el without what
// the browser must not be offered through the bridge: <starttls/> (the
// bridge secures the upstream link itself) and SASL mechanisms whose name
// ends in -PLUS (channel binding would bind to the bridge's TLS channel,
// which the browser cannot see). It returns nil when there is nothing to
// remove, and the caller copies el.Raw as it is. What is removed lies after
// the start tag, so NSAt stays valid.
func filterFeatures(el *xmlsplit.Element) []byte {
	raw := el.Raw
	if !bytes.Contains(raw, []byte("starttls")) && !bytes.Contains(raw, []byte("-PLUS")) {
		return nil
	}
	feat, err := xmlsplit.Parse(raw, xmlsplit.ParseOptions{Children: true, Context: el.Borrowed})
	if err != nil {
		return nil
	}
	// Children come in document order and only text lies between them,
	// which holds no '<': the first match after the previous child is the
	// child itself.
	var cuts [][2]int
	at := xmlsplit.StartTagEnd(raw, 0)
	for i := range feat.Children {
		ch := &feat.Children[i]
		off := indexFrom(raw, at, ch.Raw)
		if off < 0 {
			return nil
		}
		at = off + len(ch.Raw)
		switch {
		case is(ch, "starttls", nsTLS, &feat):
			cuts = append(cuts, [2]int{off, at})
		case is(ch, "mechanisms", nsSASL, &feat):
			mechs, err := parseChildren(ch, el.Borrowed, &feat)
			if err != nil {
				return nil
			}
			mat := off + xmlsplit.StartTagEnd(ch.Raw, 0)
			for j := range mechs.Children {
				m := &mechs.Children[j]
				moff := indexFrom(raw, mat, m.Raw)
				if moff < 0 {
					return nil
				}
				mat = moff + len(m.Raw)
				if is(m, "mechanism", nsSASL, &mechs, &feat) && bytes.HasSuffix(elementText(m), []byte("-PLUS")) {
					cuts = append(cuts, [2]int{moff, mat})
				}
			}
		}
	}
	if len(cuts) == 0 {
		return nil
	}
	removed := 0
	for _, c := range cuts {
		removed += c[1] - c[0]
	}
	out := make([]byte, 0, len(raw)-removed)
	at = 0
	for _, c := range cuts {
		out = append(out, raw[at:c[0]]...)
		at = c[1]
	}
	return append(out, raw[at:]...)
}

// requiresTLS reports whether features offered before TLS demand it: a
// <starttls/> marked <required/>, or one offered with nothing else to go
// on, neither SASL mechanisms nor resource binding (Prosody and ejabberd
// offer no mechanism before TLS when they require it; Prosody offers
// <starttls/> again after SASL, beside <bind/>).
func requiresTLS(el *xmlsplit.Element) bool {
	if !bytes.Contains(el.Raw, []byte("starttls")) {
		return false
	}
	feat, err := xmlsplit.Parse(el.Raw, xmlsplit.ParseOptions{Children: true, Context: el.Borrowed})
	if err != nil {
		return false
	}
	tls := findChild(&feat, "starttls", nsTLS)
	if tls == nil {
		return false
	}
	if findChild(&feat, "mechanisms", nsSASL) == nil && findChild(&feat, "bind", nsBind) == nil {
		return true
	}
	st, err := parseChildren(tls, el.Borrowed, &feat)
	return err == nil && findChild(&st, "required", nsTLS) != nil
}

// indexFrom is the offset of the first part in raw at or after from, or -1.
func indexFrom(raw []byte, from int, part []byte) int {
	if from > len(raw) {
		return -1
	}
	i := bytes.Index(raw[from:], part)
	if i < 0 {
		return -1
	}
	return from + i
}

// nextElement reads the next top-level element during negotiation and
// parses it; a stream error or the stream's end is an *Error.
func (c *Conn) nextElement() (Event, xmlsplit.Element, error) {
	for {
		ev, err := c.negotiationNext()
		if err != nil {
			return ev, xmlsplit.Element{}, err
		}
		switch ev.Kind {
		case EventEnd:
			return ev, xmlsplit.Element{}, remoteFailed("the server closed the stream")
		case EventHeader:
			return ev, xmlsplit.Element{}, errors.New("xmppclient: unexpected stream header")
		case EventStreamError:
			return ev, xmlsplit.Element{}, serverError(ev.StreamError)
		case EventDropped:
			continue
		}
		el, err := parseEvent(&ev)
		if err != nil {
			return ev, el, &Error{Cond: condRemoteConnectionFailed, Err: fmt.Errorf("xmppclient: %w", err)}
		}
		return ev, el, nil
	}
}

// negotiationNext is Next for Dial and Login. Whatever goes wrong with the
// server's data then, the browser hears that the remote connection failed:
// the bad XML was not its own.
func (c *Conn) negotiationNext() (Event, error) {
	ev, err := c.Next()
	var xe *Error
	if err != nil && (!errors.As(err, &xe) || xe.Cond != condRemoteConnectionFailed) {
		return ev, &Error{Cond: condRemoteConnectionFailed, Err: err}
	}
	return ev, err
}

// readFeatures reads the <stream:features/> that follow a stream header.
func (c *Conn) readFeatures() (xmlsplit.Element, error) {
	_, el, err := c.nextElement()
	if err != nil {
		return el, err
	}
	if !is(&el, "features", nsStreams) {
		return el, fmt.Errorf("xmppclient: expected <stream:features/>, got %.64q", el.Raw)
	}
	return el, nil
}
