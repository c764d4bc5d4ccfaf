package xmppclient

import (
	"errors"
	"fmt"
	"io"

	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

// Stream error conditions used by this package (RFC 6120 §4.9.3).
const (
	condRemoteConnectionFailed = "remote-connection-failed"
	condPolicyViolation        = "policy-violation"
	condNotWellFormed          = "not-well-formed"
	condRestrictedXML          = "restricted-xml"
	condHostUnknown            = "host-unknown"
	condUndefined              = "undefined-condition"
)

// ErrDropped is what the Fault of an EventDropped wraps.
var ErrDropped = errors.New("xmppclient: dropped")

// ErrNoMechanism is what Login's *Error wraps when the server offers no SASL
// mechanism it may use (SCRAM-SHA-256, SCRAM-SHA-1, PLAIN over TLS).
var ErrNoMechanism = errors.New("xmppclient: no usable SASL mechanism")

// ErrSecretStale is what Login's not-authorized *Error wraps when a
// Credentials.Secret does not fit the server any more: it no longer offers
// the mechanism, or the salt or iteration count changed (a new password).
// Only the password can log in now.
var ErrSecretStale = errors.New("xmppclient: the kept SCRAM secret no longer fits the server: log in with the password")

// ErrTLSRequired is what the *Error wraps when Config.Security is
// Plaintext and the server requires STARTTLS: a configuration that cannot
// work, which the browser hears as remote-connection-failed.
var ErrTLSRequired = errors.New("xmppclient: the server requires STARTTLS, and Config.Security is Plaintext")

var (
	errStreamClosed  = errors.New("xmppclient: stream closed by CloseStream")
	errStreamEnded   = fmt.Errorf("xmppclient: stream ended: %w", io.EOF)
	errStanzaTooBig  = errors.New("xmppclient: element larger than MaxStanzaBytes")
	errUnexpectedEOF = fmt.Errorf("xmppclient: connection closed without </stream:stream>: %w", io.ErrUnexpectedEOF)
)

// remoteFailed wraps a failure to reach or negotiate with the server.
func remoteFailed(format string, args ...any) *Error {
	return &Error{Cond: condRemoteConnectionFailed, Err: fmt.Errorf("xmppclient: "+format, args...)}
}

// syntaxError turns a splitter error into the stream error the browser
// should hear: the server sent bad XML, the bridge cannot relay it.
func syntaxError(err error) error {
	var se *xmlsplit.SyntaxError
	if !errors.As(err, &se) {
		return fmt.Errorf("xmppclient: read: %w", err)
	}
	cond := condNotWellFormed
	switch se.Cond {
	case xmlsplit.RestrictedXML:
		cond = condRestrictedXML
	case xmlsplit.PolicyViolation:
		cond = condPolicyViolation
	}
	return &Error{Cond: cond, Err: err}
}

// streamConditions are the defined stream error conditions of RFC 6120
// §4.9.3; a condition outside this set is reported as undefined-condition.
var streamConditions = map[string]bool{
	"bad-format": true, "bad-namespace-prefix": true, "conflict": true,
	"connection-timeout": true, "host-gone": true, "host-unknown": true,
	"improper-addressing": true, "internal-server-error": true,
	"invalid-from": true, "invalid-namespace": true, "invalid-xml": true,
	"not-authorized": true, "not-well-formed": true, "policy-violation": true,
	"remote-connection-failed": true, "reset": true, "resource-constraint": true,
	"restricted-xml": true, "see-other-host": true, "system-shutdown": true,
	"undefined-condition": true, "unsupported-encoding": true,
	"unsupported-feature": true, "unsupported-stanza-type": true,
	"unsupported-version": true,
}

const (
	nsStreams   = "http://etherx.jabber.org/streams"
	nsStreamErr = "urn:ietf:params:xml:ns:xmpp-streams"
	nsStanzaErr = "urn:ietf:params:xml:ns:xmpp-stanzas"
)

// serverError describes a <stream:error/> the server sent while we were
// negotiating.
func serverError(se *StreamError) *Error {
	return &Error{Cond: se.Condition, Text: se.Text, Err: errors.New("xmppclient: stream error from the server")}
}

// parseStreamError reads the condition and text of the server's
// <stream:error/>, by their namespace. An element that cannot be read, or
// names no defined condition, is undefined-condition.
func parseStreamError(ev *Event) *StreamError {
	se := &StreamError{Condition: condUndefined}
	el, err := parseEvent(ev)
	if err != nil {
		return se
	}
	cond, text := errorCondition(&el, nsStreamErr)
	if streamConditions[cond] {
		se.Condition = cond
	}
	se.Text = text
	return se
}

// errorCondition finds the condition element and <text/> among the children
// of a stream error, stanza error or SASL failure parsed with its children.
func errorCondition(el *xmlsplit.Element, ns string) (cond, text string) {
	for i := range el.Children {
		ch := &el.Children[i]
		if nsOf(ch, el) != ns {
			continue
		}
		if local := localName(ch.Name); local == "text" {
			text = string(elementText(ch))
		} else if cond == "" {
			cond = local
		}
	}
	return cond, text
}
