package main

import (
	"os"
	"testing"
)

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

func TestParseSchedstat(t *testing.T) {
	tests := []struct {
		name string
		line string
		want int64
		ok   bool
	}{
		{"a thread", "306051450 2062093 106\n", 306051450, true},
		{"never ran", "0 0 0\n", 0, true},
		{"short", "306051450 2062093\n", 0, false},
		{"not a number", "x 1 2\n", 0, false},
		{"negative", "-5 1 2\n", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseSchedstat(tt.line)
			if ok != tt.ok || (ok && got != tt.want) {
				t.Errorf("parseSchedstat(%q) = %d, %v; want %d, %v", tt.line, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestCPUTimeAgreesWithStat checks the precise reading against the ticks
// of /proc/PID/stat for this process, which has no exited threads to tell
// them apart.
func TestCPUTimeAgreesWithStat(t *testing.T) {
	pid := os.Getpid()
	before, err := statTime(pid)
	if err != nil {
		t.Skip("no /proc:", err)
	}
	x := 0
	for i := range 50_000_000 {
		x ^= i * i
	}
	_ = x
	got, err := cpuTime(pid)
	after, _ := statTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	// The ticks are truncated per thread; allow a tick each.
	threads, _ := os.ReadDir("/proc/self/task")
	slack := int64(len(threads)+1) * (1e9 / clockTicks)
	if got < before-slack || got > after+slack {
		t.Errorf("cpuTime %d ns, /proc/PID/stat %d…%d ns", got, before, after)
	}
}
