package jsonxlate

import (
	"errors"
	"testing"
)

func TestPeek(t *testing.T) {
	tests := []struct {
		name, json, kind, id, code string
	}{
		{"stanza", `{"kind":"message","id":"m1","payload":[{"name":"x","children":["}\"{"]}]}`, "message", "m1", ""},
		{"id first", ` {"id":"l1", "jid":"a@b", "kind":"login"} `, "login", "l1", ""},
		{"escaped", `{"kind":"\u0063lose"}`, "close", "", ""},
		{"no kind", `{"id":"x"}`, "", "x", ""},
		{"empty", `{}`, "", "", ""},
		{"kind not a string", `{"kind":{"a":1},"id":"x"}`, "", "x", CodeUnknownKind},
		{"id not a string", `{"kind":"iq","id":5}`, "iq", "", CodeBadValue},
		{"not an object", `"message"`, "", "", CodeBadJSON},
		{"truncated", `{"kind":"message","body":"x`, "message", "", CodeBadJSON},
		{"missing value", `{"kind":"message","body":}`, "message", "", CodeBadJSON},
		{"trailing", `{"kind":"message"}{}`, "message", "", CodeBadJSON},
		{"duplicate kind", `{"kind":"message","kind":"iq"}`, "message", "", CodeBadJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kind, id, err := Peek([]byte(tt.json))
			if kind != tt.kind || id != tt.id {
				t.Errorf("got %q, %q; want %q, %q", kind, id, tt.kind, tt.id)
			}
			var e *Error
			switch {
			case tt.code == "" && err != nil:
				t.Errorf("err = %v", err)
			case tt.code != "" && (!errors.As(err, &e) || e.Code != tt.code):
				t.Errorf("err = %v; want %s", err, tt.code)
			}
		})
	}
}
