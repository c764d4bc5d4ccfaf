package bufpool

import "testing"

func TestGetPut(t *testing.T) {
	for _, tt := range []struct {
		name string
		grow int // bytes appended before Put
	}{
		{"unused", 0},
		{"within the first size", Size / 2},
		{"grown, kept", MaxKept},
		{"grown past what is kept", MaxKept + 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bp := Get()
			if len(*bp) != 0 || cap(*bp) < Size {
				t.Fatalf("Get: len %d cap %d, want 0 and at least %d", len(*bp), cap(*bp), Size)
			}
			*bp = append(*bp, make([]byte, tt.grow)...)
			Put(bp)
			if bp := Get(); len(*bp) != 0 {
				t.Errorf("Get after Put: len %d, want 0", len(*bp))
			}
		})
	}
}
