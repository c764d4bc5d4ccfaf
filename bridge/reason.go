package bridge

import "strconv"

// Reason names one way a session can end. Each maps onto the stream error
// condition (RFC 6120 §4.9.3), the BOSH terminate condition (XEP-0124 §17.2)
// and the WebSocket close code (RFC 6455 §7.4.1) that say it, so every way a
// session ends is named once.
type Reason uint8

const (
	// ReasonNormal: the browser closed its stream and the server answered.
	ReasonNormal Reason = iota
	// ReasonUpstreamClosed: the server closed its stream (any stream error
	// it sent was relayed first, as an element).
	ReasonUpstreamClosed
	// ReasonGone: the browser's connection was lost; nothing more can be
	// said to it.
	ReasonGone
	// ReasonShutdown: the bridge is shutting down.
	ReasonShutdown
	// ReasonNotWellFormed: the browser sent XML that is not well-formed.
	ReasonNotWellFormed
	// ReasonRestrictedXML: the browser sent XML that RFC 6120 §11.1 forbids.
	ReasonRestrictedXML
	// ReasonBadFormat: well-formed, but not what the protocol allows here.
	ReasonBadFormat
	// ReasonInvalidNamespace: a framing or stream element in the wrong
	// namespace.
	ReasonInvalidNamespace
	// ReasonUnsupportedVersion: a stream version other than 1.0.
	ReasonUnsupportedVersion
	// ReasonTooBig: a stanza or frame over the configured limit.
	ReasonTooBig
	// ReasonPolicyViolation: any other breach of the bridge's rules.
	ReasonPolicyViolation
	// ReasonSlowConsumer: the browser did not take what the server sent fast
	// enough and the session's queue overflowed.
	ReasonSlowConsumer
	// ReasonResourceConstraint: the bridge holds as many sessions as it
	// may. Not the browser's fault, so BOSH says undefined-condition
	// (XEP-0124 §17.2 keeps policy-violation for a client breaking the
	// session rules) with the stream error inside.
	ReasonResourceConstraint
	// ReasonHostUnknown: the bridge does not serve the domain asked for.
	ReasonHostUnknown
	// ReasonRemoteConnectionFailed: the server could not be reached or did
	// not prove its identity.
	ReasonRemoteConnectionFailed
	// ReasonUpstreamFailed: the upstream stream broke (the server sent bad
	// XML, or the connection dropped without a stream close).
	ReasonUpstreamFailed
	// ReasonConnectionTimeout: the browser was silent for too long.
	ReasonConnectionTimeout
	// ReasonSeeOther: the browser should reconnect to CloseError.URI.
	ReasonSeeOther
	// ReasonInternal: a bug or an unexpected failure in the bridge.
	ReasonInternal
	// ReasonNotAuthorized: a bridge-side login (OpenRequest.Login) was
	// refused by the server; the SASL condition is in the
	// *xmppclient.Error that CloseError.Err wraps.
	ReasonNotAuthorized
	// ReasonItemNotFound: a BOSH request named what the bridge does not
	// hold: a request id outside the window or whose response is no longer
	// kept, a broken key sequence, a stream never opened (XEP-0124 §14,
	// §15, §16). Not a stream error condition: a transport other than BOSH
	// would call it a policy violation.
	ReasonItemNotFound
	// ReasonImproperAddressing: a session was asked for without saying
	// which domain ('to').
	ReasonImproperAddressing
	// ReasonThrottled: a login was refused before it was tried, because
	// too many failed from the client's address or for the account
	// (Config.Limits). CloseError.Text says how long to wait.
	ReasonThrottled
	// ReasonAddrLimit: the client's address holds as many sessions as it
	// may, or opens them too fast (Config.Limits).
	ReasonAddrLimit
	// ReasonAuthTimeout: a relayed stream did not authenticate within
	// Config.AuthTimeout.
	ReasonAuthTimeout

	numReasons
)

type reasonInfo struct {
	name   string
	stream string // stream error condition; "" sends no stream error
	bosh   string // BOSH terminate condition; "" is a plain terminate
	ws     int    // WebSocket close code
}

var reasons = [numReasons]reasonInfo{
	ReasonNormal:                 {"normal", "", "", 1000},
	ReasonUpstreamClosed:         {"upstream-closed", "", "", 1000},
	ReasonGone:                   {"gone", "", "", 1001},
	ReasonShutdown:               {"shutdown", "system-shutdown", "system-shutdown", 1001},
	ReasonNotWellFormed:          {"not-well-formed", "not-well-formed", "bad-request", 1007},
	ReasonRestrictedXML:          {"restricted-xml", "restricted-xml", "bad-request", 1007},
	ReasonBadFormat:              {"bad-format", "bad-format", "bad-request", 1002},
	ReasonInvalidNamespace:       {"invalid-namespace", "invalid-namespace", "bad-request", 1002},
	ReasonUnsupportedVersion:     {"unsupported-version", "unsupported-version", "bad-request", 1002},
	ReasonTooBig:                 {"too-big", "policy-violation", "policy-violation", 1009},
	ReasonPolicyViolation:        {"policy-violation", "policy-violation", "policy-violation", 1008},
	ReasonSlowConsumer:           {"slow-consumer", "policy-violation", "policy-violation", 1008},
	ReasonResourceConstraint:     {"resource-constraint", "resource-constraint", "undefined-condition", 1013},
	ReasonHostUnknown:            {"host-unknown", "host-unknown", "host-unknown", 1008},
	ReasonRemoteConnectionFailed: {"remote-connection-failed", "remote-connection-failed", "remote-connection-failed", 1011},
	ReasonUpstreamFailed:         {"upstream-failed", "remote-connection-failed", "remote-connection-failed", 1011},
	ReasonConnectionTimeout:      {"connection-timeout", "connection-timeout", "", 1001},
	ReasonSeeOther:               {"see-other-uri", "", "see-other-uri", 1000},
	ReasonInternal:               {"internal", "internal-server-error", "internal-server-error", 1011},
	ReasonNotAuthorized:          {"not-authorized", "not-authorized", "undefined-condition", 1008},
	ReasonItemNotFound:           {"item-not-found", "policy-violation", "item-not-found", 1008},
	ReasonImproperAddressing:     {"improper-addressing", "improper-addressing", "improper-addressing", 1008},
	ReasonThrottled:              {"throttled", "policy-violation", "policy-violation", 1008},
	ReasonAddrLimit:              {"address-limit", "policy-violation", "policy-violation", 1008},
	ReasonAuthTimeout:            {"auth-timeout", "policy-violation", "policy-violation", 1008},
}

func (r Reason) info() reasonInfo {
	if r >= numReasons {
		return reasons[ReasonInternal]
	}
	return reasons[r]
}

// String is a short name for logs.
func (r Reason) String() string {
	if r >= numReasons {
		return "reason(" + strconv.Itoa(int(r)) + ")"
	}
	return r.info().name
}

// StreamCondition is the RFC 6120 stream error condition to send the
// browser, or "" when the end is not an error.
func (r Reason) StreamCondition() string { return r.info().stream }

// BOSHCondition is the XEP-0124 §17.2 terminal binding condition, or ""
// for a plain terminate. With "undefined-condition" §17.2 asks for
// application-specific information in the <body/>: the stream error that
// StreamCondition names.
func (r Reason) BOSHCondition() string { return r.info().bosh }

// WebSocketCode is the RFC 6455 close code.
func (r Reason) WebSocketCode() int { return r.info().ws }

// CloseError says why a session ended: the reason, a text for the browser
// and the cause for the log.
type CloseError struct {
	Reason Reason
	// Condition, when set, overrides the reason's stream error condition:
	// it relays a condition the server itself gave (for example during
	// stream negotiation).
	Condition string
	// Text goes to the browser in the stream error's <text/> (may be empty).
	Text string
	// URI is where to reconnect, for ReasonSeeOther.
	URI string
	// Err is the underlying cause, for logs only: never sent to the browser.
	Err error
}

// Error implements error.
func (e *CloseError) Error() string {
	s := "bridge: session ended: " + e.Reason.String()
	if e.Text != "" {
		s += " (" + e.Text + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *CloseError) Unwrap() error { return e.Err }

// StreamCondition is the stream error condition to send the browser, or ""
// when the end is not an error.
func (e *CloseError) StreamCondition() string {
	if e.Condition != "" {
		return e.Condition
	}
	return e.Reason.StreamCondition()
}
