package jsonapi

import (
	"net/http"
	"testing"

	"github.com/xmppbridge/xmppbridge/bridge"
)

func TestLimitError(t *testing.T) {
	for _, tc := range []struct {
		name   string
		reason bridge.Reason
		code   string
	}{
		{"throttled login", bridge.ReasonThrottled, errThrottled},
		{"address limit", bridge.ReasonAddrLimit, errThrottled},
		{"refused credentials", bridge.ReasonNotAuthorized, errNotAuthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := loginError(&bridge.CloseError{Reason: tc.reason, Text: "try again in 4s"})
			if e.code != tc.code {
				t.Fatalf("code %q, want %q", e.code, tc.code)
			}
			if tc.code == errThrottled && (e.text != "try again in 4s" || errorType(e.code) != "wait" || httpStatus(e.code) != http.StatusTooManyRequests) {
				t.Errorf("throttled: text %q, type %q, status %d", e.text, errorType(e.code), httpStatus(e.code))
			}
		})
	}
}
