package xmlsplit

import "testing"

func TestAppendEscapeRoundTrip(t *testing.T) {
	for _, s := range []string{"", "plain", `<&>"'`, "ü€😀 &amp;", "tab\tline\nreturn\r"} {
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
func TestOutput(t *testing.T) {
	if got := string(AppendEscape(nil, "a<&>'\"\t\n\rb")); got != "a&lt;&amp;&gt;&apos;&quot;&#9;&#10;&#13;b" {
		t.Errorf("AppendEscape: %s", got)
	}
	if got := string(AppendText(nil, "a<&>'\"\t\n\r]]>")); got != "a&lt;&amp;&gt;'\"\t\n&#13;]]&gt;" {
		t.Errorf("AppendText: %s", got)
	}
	if got := string(AppendAttr(nil, "to", "")); got != "" {
		t.Errorf("AppendAttr of empty: %q", got)
	}
	for s, want := range map[string]int{"": -1, "ok é 😀\t\n\r": -1, "a\x01": 1, "ab\xff": 2, "a\uFFFE": 1, "\xed\xa0\x80": 0} {
		if got := InvalidChar(s); got != want {
			t.Errorf("InvalidChar(%q) = %d, want %d", s, got, want)
		}
	}
	for s, want := range map[string]bool{"a": true, "é-x.1": true, "": false, "a:b": false, "1a": false, "a b": false} {
		if got := IsNCName(s); got != want {
			t.Errorf("IsNCName(%q) = %v", s, got)
		}
	}
}
