package bridge

import "testing"

func TestReasonsAreAllNamed(t *testing.T) {
	seen := map[string]Reason{}
	for r := Reason(0); r < numReasons; r++ {
		info := reasons[r]
		if info.name == "" || info.ws == 0 {
			t.Errorf("reason %d has no name or close code", r)
		}
		if prev, dup := seen[info.name]; dup {
			t.Errorf("reasons %d and %d share the name %q", prev, r, info.name)
		}
		seen[info.name] = r
		if c := info.ws; c < 1000 || c > 4999 || c == 1004 || c == 1005 || c == 1006 || c == 1015 {
			t.Errorf("%v: close code %d may not be sent", r, c)
		}
	}
}

// Every condition a reason names is one the protocol defines: RFC 6120
// §4.9.3 for stream errors, XEP-0124 §17.2 for BOSH.
func TestReasonConditionsAreDefined(t *testing.T) {
	stream := set("bad-format", "bad-namespace-prefix", "conflict", "connection-timeout", "host-gone",
		"host-unknown", "improper-addressing", "internal-server-error", "invalid-from", "invalid-namespace",
		"invalid-xml", "not-authorized", "not-well-formed", "policy-violation", "remote-connection-failed",
		"reset", "resource-constraint", "restricted-xml", "see-other-host", "system-shutdown",
		"undefined-condition", "unsupported-encoding", "unsupported-feature", "unsupported-stanza-type",
		"unsupported-version")
	bosh := set("bad-request", "host-gone", "host-unknown", "improper-addressing", "internal-server-error",
		"item-not-found", "other-request", "policy-violation", "remote-connection-failed",
		"remote-stream-error", "see-other-uri", "system-shutdown", "undefined-condition")
	for r := Reason(0); r < numReasons; r++ {
		if c := r.StreamCondition(); c != "" && !stream[c] {
			t.Errorf("%v: %q is not a stream error condition", r, c)
		}
		if c := r.BOSHCondition(); c != "" && !bosh[c] {
			t.Errorf("%v: %q is not a BOSH terminal binding condition", r, c)
		}
		if r.BOSHCondition() == "undefined-condition" && r.StreamCondition() == "" {
			t.Errorf("%v: undefined-condition with no stream error to explain it", r)
		}
	}
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

func TestReasonMapping(t *testing.T) {
	tests := []struct {
		r            Reason
		stream, bosh string
		ws           int
	}{
		{ReasonNormal, "", "", 1000},
		{ReasonShutdown, "system-shutdown", "system-shutdown", 1001},
		{ReasonNotWellFormed, "not-well-formed", "bad-request", 1007},
		{ReasonTooBig, "policy-violation", "policy-violation", 1009},
		{ReasonRemoteConnectionFailed, "remote-connection-failed", "remote-connection-failed", 1011},
		{ReasonHostUnknown, "host-unknown", "host-unknown", 1008},
		{ReasonResourceConstraint, "resource-constraint", "undefined-condition", 1013},
		{ReasonNotAuthorized, "not-authorized", "undefined-condition", 1008},
		{ReasonItemNotFound, "policy-violation", "item-not-found", 1008},
		{ReasonImproperAddressing, "improper-addressing", "improper-addressing", 1008},
		{ReasonThrottled, "policy-violation", "policy-violation", 1008},
		{ReasonAddrLimit, "policy-violation", "policy-violation", 1008},
		{ReasonAuthTimeout, "policy-violation", "policy-violation", 1008},
		{Reason(200), "internal-server-error", "internal-server-error", 1011},
	}
	for _, tt := range tests {
		t.Run(tt.r.String(), func(t *testing.T) {
			if got := tt.r.StreamCondition(); got != tt.stream {
				t.Errorf("StreamCondition = %q, want %q", got, tt.stream)
			}
			if got := tt.r.BOSHCondition(); got != tt.bosh {
				t.Errorf("BOSHCondition = %q, want %q", got, tt.bosh)
			}
			if got := tt.r.WebSocketCode(); got != tt.ws {
				t.Errorf("WebSocketCode = %d, want %d", got, tt.ws)
			}
		})
	}
	e := &CloseError{Reason: ReasonRemoteConnectionFailed, Condition: "host-gone"}
	if got := e.StreamCondition(); got != "host-gone" {
		t.Errorf("Condition override: got %q", got)
	}
}
