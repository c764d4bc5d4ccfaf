package jsonapi

import "github.com/xmppbridge/xmppbridge/bridge"

// errThrottled is the error code of a login or session the bridge's
// per-address limits refused (bridge.Config.Limits): the text says why and
// how long to wait; over HTTP it is 429.
const errThrottled = "throttled"

// limitError is the error frame for a session the bridge's limits
// refused, or nil for any other end.
func limitError(ce *bridge.CloseError) *apiError {
	switch ce.Reason {
	case bridge.ReasonThrottled, bridge.ReasonAddrLimit:
		return &apiError{code: errThrottled, text: ce.Text}
	}
	return nil
}
