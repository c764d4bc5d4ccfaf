package jsonxlate

import (
	"errors"
	"strings"
	"testing"
)

// toXMLTest is a JSON object and the XML AppendXML makes of it. The XML
// converts back to JSON, which may be normalised but then stays put.
type toXMLTest struct{ name, json, want string }

func testToXML(t *testing.T, tests []toXMLTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := AppendXML(nil, []byte(tt.json))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("\n got: %s\nwant: %s", got, tt.want)
			}
			j, err := AppendJSON(nil, got, "")
			if err != nil {
				t.Fatalf("AppendJSON(%s): %v", got, err)
			}
			checkRoundTrip(t, got, "", j)
		})
	}
}

// toXMLErrorTest is a JSON object that AppendXML refuses, and the code and
// field of its error; field "" is not checked.
type toXMLErrorTest struct {
	name, json, code, field string
}

func testToXMLErrors(t *testing.T, tests []toXMLErrorTest) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("keep")
			out, err := AppendXML(dst, []byte(tt.json))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %s, %v; want an *Error", out, err)
			}
			if e.Code != tt.code || tt.field != "" && e.Field != tt.field {
				t.Fatalf("got %s at %q (%v); want %s at %q", e.Code, e.Field, e, tt.code, tt.field)
			}
			if string(out) != "keep" {
				t.Fatalf("dst changed: %q", out)
			}
		})
	}
}

func TestAppendXMLErrors(t *testing.T) {
	deep := `{"kind":"element","element":` + strings.Repeat(`{"name":"a","children":[`, 64) + `{"name":"b"}` + strings.Repeat(`]}`, 64) + `}`
	testToXMLErrors(t, []toXMLErrorTest{
		{"no kind", `{"body":"x"}`, CodeUnknownKind, "kind"},
		{"kind not a string", `{"kind":1}`, CodeUnknownKind, "kind"},
		{"control kind", `{"kind":"login"}`, CodeUnknownKind, "kind"},
		{"too deep", deep, CodeTooLarge, ""},
	})
}
