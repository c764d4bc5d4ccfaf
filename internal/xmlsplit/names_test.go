package xmlsplit

import "testing"

func TestNameRunes(t *testing.T) {
	// The edges of every range of XML 1.0 (fifth edition) §2.3.
	startRanges := [][2]rune{
		{':', ':'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}, {0xC0, 0xD6}, {0xD8, 0xF6}, {0xF8, 0x2FF},
		{0x370, 0x37D}, {0x37F, 0x1FFF}, {0x200C, 0x200D}, {0x2070, 0x218F}, {0x2C00, 0x2FEF},
		{0x3001, 0xD7FF}, {0xF900, 0xFDCF}, {0xFDF0, 0xFFFD}, {0x10000, 0xEFFFF},
	}
	extraRanges := [][2]rune{{'-', '-'}, {'.', '.'}, {'0', '9'}, {0xB7, 0xB7}, {0x300, 0x36F}, {0x203F, 0x2040}}
	in := func(r rune, ranges [][2]rune) bool {
		for _, rg := range ranges {
			if rg[0] <= r && r <= rg[1] {
				return true
			}
		}
		return false
	}
	var edges []rune
	for _, rg := range append(startRanges, extraRanges...) {
		edges = append(edges, rg[0]-1, rg[0], rg[1], rg[1]+1)
	}
	edges = append(edges, 0, ' ', '>', 0x7F, 0x80, 0xA0, 0xD7, 0xF7, 0xFFFE, 0xFFFF, 0x10FFFF)
	for _, r := range edges {
		start := in(r, startRanges)
		if got := isNameStartRune(r); got != start {
			t.Errorf("isNameStartRune(%U) = %v", r, got)
		}
		if got, want := isNameRune(r), start || in(r, extraRanges); got != want {
			t.Errorf("isNameRune(%U) = %v", r, got)
		}
	}
}

func TestQNameColon(t *testing.T) {
	tests := []struct {
		name string
		want int
	}{
		{"a", -1}, {"a:b", 1}, {"abc:d", 3}, {":a", -2}, {"a:", -2}, {"a:b:c", -2}, {"a:1", -2}, {"a:-", -2}, {"p:é", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := qnameColon([]byte(tt.name)); got != tt.want {
				t.Errorf("qnameColon(%q) = %d, want %d", tt.name, got, tt.want)
			}
		})
	}
}

func TestIsName(t *testing.T) {
	for name, want := range map[string]bool{
		"a": true, "a1": true, "_": true, ":": true, "é·": true, "1": false, "": false, "a b": false, "a\u00a0": false, "·a": false,
	} {
		if got := isName([]byte(name)); got != want {
			t.Errorf("isName(%q) = %v", name, got)
		}
	}
}
