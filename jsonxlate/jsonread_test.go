package jsonxlate

import (
	"strings"
	"testing"
)

// TestJSONErrors: what the JSON parser refuses, and the strings it keeps
// marked as not valid Unicode for AppendXML to name.
func TestJSONErrors(t *testing.T) {
	deepJSON := `{"kind":"message","payload":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`
	testToXMLErrors(t, []toXMLErrorTest{
		{"not JSON", `{"kind":`, CodeBadJSON, ""},
		{"not an object", `["message"]`, CodeBadJSON, ""},
		{"trailing data", `{"kind":"message"} x`, CodeBadJSON, ""},
		{"duplicate member", `{"kind":"message","body":"a","body":"b"}`, CodeBadJSON, ""},
		{"raw control character", "{\"kind\":\"message\",\"body\":\"a\x01\"}", CodeBadJSON, ""},
		{"bad escape", `{"kind":"message","body":"\x"}`, CodeBadJSON, ""},
		{"lone surrogate", `{"kind":"message","body":"\ud800"}`, CodeBadValue, "body"},
		{"invalid UTF-8", "{\"kind\":\"message\",\"to\":\"\xff\"}", CodeBadValue, "to"},
		{"invalid UTF-8 in a key", "{\"kind\":\"message\",\"attrs\":{\"\xff\":\"x\"}}", CodeBadValue, "attrs"},
		{"JSON too deep", deepJSON, CodeTooLarge, ""},
		// The escapes decode, and the string reaches the XML checks: \b is
		// a control character.
		{"escaped JSON strings", `{"kind":"message","body":"\u00e9\ud83d\ude00\/\b"}`, CodeBadValue, "body"},
	})
}
