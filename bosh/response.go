package bosh

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// Terminal binding conditions (XEP-0124 §17.2) this package names itself;
// session ends, and refusals that end a session, are named by
// bridge.Reason.BOSHCondition.
const (
	condBadRequest        = "bad-request"
	condItemNotFound      = "item-not-found"
	condOtherRequest      = "other-request"
	condPolicyViolation   = "policy-violation"
	condRemoteStreamError = "remote-stream-error"
	condSeeOtherURI       = "see-other-uri"
	condSystemShutdown    = "system-shutdown"
	condUndefined         = "undefined-condition"
)

// Bodies that never change.
var (
	emptyBody = []byte("<body xmlns='" + nsHTTPBind + "'/>")
	// errorBody is the recoverable binding condition (XEP-0124 §17.3):
	// the client resends the requests it has no response to.
	errorBody = []byte("<body type='error' xmlns='" + nsHTTPBind + "'/>")
)

// httpStatus is the HTTP status for a response with a terminal binding
// condition. XEP-0124 §17.1-17.2: everything is 200 OK, except that a client
// that sent no 'ver' in its session creation request (a legacy client) gets
// the deprecated HTTP error codes for the three conditions they stand for.
func httpStatus(cond string, legacy bool) int {
	if legacy {
		switch cond {
		case condBadRequest:
			return http.StatusBadRequest
		case condPolicyViolation:
			return http.StatusForbidden
		case condItemNotFound:
			return http.StatusNotFound
		}
	}
	return http.StatusOK
}

// appendBodyStart appends "<body xmlns='…'", to which attributes follow.
func appendBodyStart(b []byte) []byte {
	return append(b, "<body xmlns='"+nsHTTPBind+"'"...)
}

// terminateBody is a <body type='terminate'/> with a condition ("" for a
// plain one) and the content the condition calls for.
func terminateBody(cond, uri string) []byte {
	b := appendBodyStart(make([]byte, 0, 128))
	b = append(b, " type='terminate'"...)
	b = xmlsplit.AppendAttr(b, "condition", cond)
	if cond == condSeeOtherURI && uri != "" {
		b = append(b, "><uri>"...)
		b = xmlsplit.AppendEscape(b, uri)
		return append(b, "</uri></body>"...)
	}
	return append(b, "/>"...)
}

// usesStreamPrefix reports whether an element from the server is named with
// the stream prefix (features, error), for which XEP-0206 §2 wants the
// prefix declared on the <body/>.
func usesStreamPrefix(data []byte) bool {
	return bytes.HasPrefix(data, []byte("<stream:"))
}

// creation holds what the session creation response says (XEP-0124 §7.2,
// XEP-0206 §4).
type creation struct {
	sid                           string
	wait, requests, hold          int
	inactivity, polling, maxPause int // seconds; maxPause 0: not offered
	ver                           string
	header                        *xmppclient.Header
	to                            string
	ack                           uint64
}

func appendCreationAttrs(b []byte, c *creation) []byte {
	b = append(b, " xmlns:xmpp='"+nsXBOSH+"'"...)
	b = xmlsplit.AppendAttr(b, "sid", c.sid)
	b = xmlsplit.AppendAttr(b, "wait", strconv.Itoa(c.wait))
	b = xmlsplit.AppendAttr(b, "requests", strconv.Itoa(c.requests))
	b = xmlsplit.AppendAttr(b, "hold", strconv.Itoa(c.hold))
	b = xmlsplit.AppendAttr(b, "inactivity", strconv.Itoa(c.inactivity))
	b = xmlsplit.AppendAttr(b, "polling", strconv.Itoa(c.polling))
	if c.maxPause > 0 {
		b = xmlsplit.AppendAttr(b, "maxpause", strconv.Itoa(c.maxPause))
	}
	b = xmlsplit.AppendAttr(b, "ver", c.ver)
	from, xmppVersion := c.to, "1.0"
	if c.header != nil {
		if c.header.From != "" {
			from = c.header.From
		}
		if c.header.Version != "" {
			xmppVersion = c.header.Version
		}
		b = xmlsplit.AppendAttr(b, "authid", c.header.ID)
	}
	b = xmlsplit.AppendAttr(b, "from", from)
	// The upstream link is always secure in the sense of XEP-0124 §19.2:
	// xmppclient verifies TLS and allows plaintext only to a loopback
	// address, that is, to a server on the same machine.
	b = append(b, " secure='true'"...)
	// XEP-0206 §4: the server's stream version.
	b = xmlsplit.AppendAttr(b, "xmpp:version", xmppVersion)
	b = append(b, " xmpp:restartlogic='true'"...)
	return xmlsplit.AppendAttr(b, "ack", strconv.FormatUint(c.ack, 10))
}

// secondsUp is a duration in nanoseconds as whole seconds for an
// attribute, rounded up (wait, polling: the client must not expect less),
// at least least.
func secondsUp(ns int64, least int) int {
	return max(int((ns+1e9-1)/1e9), least)
}

// secondsDown rounds down (inactivity, maxpause: the client must not
// expect more), at least least.
func secondsDown(ns int64, least int) int {
	return max(int(ns/1e9), least)
}
