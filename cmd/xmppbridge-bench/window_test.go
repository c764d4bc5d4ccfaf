package main

import "testing"

func TestNextRequest(t *testing.T) {
	tests := []struct {
		name          string
		open, maxOpen int
		restart       bool
		queued        int
		want          windowNext
	}{
		{"idle session polls", 0, 2, false, 0, reqPoll},
		{"one held: no second empty request", 1, 2, false, 0, reqNone},
		{"stanza beside the held request", 1, 2, false, 1, reqPayload},
		{"both open: stanzas wait", 2, 2, false, 3, reqNone},
		{"restart before stanzas", 1, 2, true, 2, reqRestart},
		{"restart waits for a free request", 2, 2, true, 0, reqNone},
		{"stanza with nothing open", 0, 2, false, 1, reqPayload},
		{"requests=1 server", 1, 1, false, 1, reqNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nextRequest(tt.open, tt.maxOpen, tt.restart, tt.queued); got != tt.want {
				t.Errorf("nextRequest(%d, %d, %v, %d) = %d, want %d", tt.open, tt.maxOpen, tt.restart, tt.queued, got, tt.want)
			}
		})
	}
}
