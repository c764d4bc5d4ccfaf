package xmlsplit

import "testing"

func TestAppendEscapeRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", `<&>"'`, "ü€😀 &amp;"} {
		t.Run(s, func(t *testing.T) {
			got, err := Unescape(nil, AppendEscape(nil, s))
			if err != nil || string(got) != s {
				t.Fatalf("Unescape(AppendEscape(%q)) = %q, %v", s, got, err)
			}
		})
	}
	if got := string(AppendAttr(nil, "to", "a'b")); got != " to='a&apos;b'" {
		t.Fatalf("AppendAttr = %q", got)
	}
	if got := AppendAttr(nil, "to", ""); len(got) != 0 {
		t.Fatalf("AppendAttr with empty value = %q", got)
	}
}
