package main

import (
	"testing"
	"time"
)

func TestProbeRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		p    probe
	}{
		{"zero", probe{}},
		{"first", probe{seq: 1, sent: 1500 * time.Microsecond}},
		{"large", probe{seq: 1 << 40, sent: 10 * time.Hour}},
		{"with sender", probe{seq: 7, sent: time.Second, from: 42}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			el := appendMessage(nil, "load1@localhost/load", tt.p)
			got, ok := parseProbe(el)
			if !ok || got != tt.p {
				t.Errorf("parseProbe(%s) = %v, %v; want %v", el, got, ok, tt.p)
			}
		})
	}
}

func TestParseProbeRejects(t *testing.T) {
	for _, el := range []string{
		`<message/>`,
		`<message><body>hello</body></message>`,
		`<message><body>12</body></message>`,
		`<message><body>12 x</body></message>`,
		`<message><body>12 3 </body></message>`,
		`<message><body>12 3 4x</body></message>`,
	} {
		if p, ok := parseProbe([]byte(el)); ok {
			t.Errorf("parseProbe(%s) = %v, want no probe", el, p)
		}
	}
}

func TestTextOf(t *testing.T) {
	el := []byte(`<iq type="result" id="b"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><jid>load0@localhost/load</jid></bind></iq>`)
	if got, ok := textOf(el, "jid"); !ok || got != "load0@localhost/load" {
		t.Errorf("textOf = %q, %v", got, ok)
	}
	if _, ok := textOf(el, "resource"); ok {
		t.Error("textOf found an absent element")
	}
}
