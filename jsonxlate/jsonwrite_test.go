package jsonxlate

import (
	"encoding/json"
	"testing"
)

func TestJSONEscapes(t *testing.T) {
	got, err := AppendJSON(nil, []byte("<message><body>\"\\\u2028\u2029\u00e9&#x7f;\t\r\n&#13;</body></message>"), " xmlns='jabber:client'")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"kind":"message","body":"\"\\\u2028\u2029é` + "\x7f" + `\t\n\r"}`
	if string(got) != want {
		t.Fatalf("\n got: %s\nwant: %s", got, want)
	}
}

func TestAppendString(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"alice@example.com/web", "alice@example.com/web"},
		{`say "hi" \ bye`, `say "hi" \ bye`},
		{"tab\tnl\ncr\rnul\x00", "tab\tnl\ncr\rnul\x00"},
		{"line\u2028para\u2029", "line\u2028para\u2029"},
		{"<&>ü€😀", "<&>ü€😀"},
		{"bad \xff utf-8", "bad \uFFFD utf-8"},
	} {
		b := AppendString([]byte("x"), tt.in)
		var got string
		if err := json.Unmarshal(b[1:], &got); err != nil || got != tt.want || b[0] != 'x' {
			t.Errorf("AppendString(%q) = %s, reads back %q, %v; want %q", tt.in, b, got, err, tt.want)
		}
	}
}
