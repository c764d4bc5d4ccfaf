package xmlsplit

import "testing"

func TestStartTagEnd(t *testing.T) {
	for _, tt := range []struct {
		raw  string
		from int
		want int
	}{
		{`<a>x</a>`, 0, 3},
		{`<a/>`, 0, 4},
		{`<a b='>' c=">'">x</a>`, 0, 16},
		{`<message to='a'>`, 8, 16},
		{`<a b='`, 0, 6},
	} {
		if got := StartTagEnd([]byte(tt.raw), tt.from); got != tt.want {
			t.Errorf("StartTagEnd(%q, %d) = %d, want %d", tt.raw, tt.from, got, tt.want)
		}
	}
}
