package wsframe

import "testing"

func TestTransportName(t *testing.T) {
	if got := (&conn{}).TransportName(); got != "websocket" {
		t.Fatalf("TransportName() = %q", got)
	}
}
