package main

import (
	"os"
	"testing"
	"time"
)

func TestQuantile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", []time.Duration{7}, 0.999, 7},
		{"median", hundred, 0.5, 50 * time.Millisecond},
		{"p99", hundred, 0.99, 99 * time.Millisecond},
		{"p99.9 is the max of 100", hundred, 0.999, 100 * time.Millisecond},
		{"zero quantile is the min", hundred, 0, time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := quantile(tt.sorted, tt.q); got != tt.want {
				t.Errorf("quantile(%v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

func TestSampleSelf(t *testing.T) {
	s, err := sample(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSSKiB <= 0 || s.CPUNs < 0 {
		t.Errorf("sample = %+v", s)
	}
}
