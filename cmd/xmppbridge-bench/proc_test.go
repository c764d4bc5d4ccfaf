package main

import "testing"

func TestParseBusy(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		want    int64
		wantErr bool
	}{
		{"all fields", "cpu  100 2 30 5000 7 1 4 3 0 0", (100 + 2 + 30 + 1 + 4 + 3) * 1e7, false},
		{"idle only", "cpu  0 0 0 9999 0 0 0 0", 0, false},
		{"a single CPU's line", "cpu0 1 1 1 1 1 1 1 1", 0, true},
		{"short", "cpu 1 2 3", 0, true},
		{"not a number", "cpu x 0 0 0 0 0 0 0", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseBusy(tt.line)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseBusy(%q) = %d, %v; want %d, error %v", tt.line, got, err, tt.want, tt.wantErr)
			}
		})
	}
}
