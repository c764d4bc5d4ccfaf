package wsframe

import (
	"strings"
	"testing"

	"github.com/xmppbridge/xmppbridge/bridge"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

func TestParseFrame(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		kind   frameKind
		open   openAttrs
		reason bridge.Reason // for errors
	}{
		{"open", `<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="localhost" version="1.0"/>`, frameOpen, openAttrs{To: "localhost", Version: "1.0"}, 0},
		{"open with from and lang", `<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='example.com' from='a@example.com' xml:lang='de' version='1.0'/>`, frameOpen, openAttrs{To: "example.com", From: "a@example.com", Lang: "de", Version: "1.0"}, 0},
		{"open with escaped to", `<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='a&amp;b' version='1.0'/>`, frameOpen, openAttrs{To: "a&b", Version: "1.0"}, 0},
		{"prefixed open", `<f:open xmlns:f='urn:ietf:params:xml:ns:xmpp-framing' to='x' version='1.0'/>`, frameOpen, openAttrs{To: "x", Version: "1.0"}, 0},
		{"close", `<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>`, frameClose, openAttrs{}, 0},
		{"stanza", `<message xmlns="jabber:client" to="b@x"><body>hi</body></message>`, frameElement, openAttrs{}, 0},
		{"whitespace keepalive", " \r\n", frameEmpty, openAttrs{}, 0},
		{"open without version", `<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='x'/>`, 0, openAttrs{}, bridge.ReasonUnsupportedVersion},
		{"open with version 2.0", `<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='x' version='2.0'/>`, 0, openAttrs{}, bridge.ReasonUnsupportedVersion},
		{"open without to", `<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' version='1.0'/>`, 0, openAttrs{}, bridge.ReasonHostUnknown},
		{"unknown framing element", `<reopen xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>`, 0, openAttrs{}, bridge.ReasonBadFormat},
		{"RFC 6120 stream header", `<stream:stream xmlns:stream='http://etherx.jabber.org/streams' to='x' version='1.0'/>`, 0, openAttrs{}, bridge.ReasonInvalidNamespace},
		{"unbalanced", `<message><body></message>`, 0, openAttrs{}, bridge.ReasonNotWellFormed},
		{"two elements", `<a/><b/>`, 0, openAttrs{}, bridge.ReasonNotWellFormed},
		{"stream close smuggled", `</stream:stream>`, 0, openAttrs{}, bridge.ReasonNotWellFormed},
		{"comment", `<message><!-- hi --></message>`, 0, openAttrs{}, bridge.ReasonRestrictedXML},
		{"doctype", `<!DOCTYPE x><x/>`, 0, openAttrs{}, bridge.ReasonRestrictedXML},
		{"undeclared prefix", `<stream:error/>`, 0, openAttrs{}, bridge.ReasonNotWellFormed},
		{"too large", `<message><body>` + strings.Repeat("x", 2000) + `</body></message>`, 0, openAttrs{}, bridge.ReasonTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := parseFrame([]byte(tt.in), xmlsplit.Limits{MaxBytes: 1024})
			if tt.reason != 0 || err != nil {
				if err == nil {
					t.Fatalf("accepted as %v, want %v", f.kind, tt.reason)
				}
				if err.Reason != tt.reason {
					t.Fatalf("error %v, want %v", err, tt.reason)
				}
				return
			}
			if f.kind != tt.kind || f.open != tt.open {
				t.Fatalf("got %v %+v, want %v %+v", f.kind, f.open, tt.kind, tt.open)
			}
			if f.kind == frameElement && string(f.elem) != tt.in {
				t.Fatalf("element %q, want it unchanged", f.elem)
			}
		})
	}
}

func TestAppendFrames(t *testing.T) {
	h := xmppclient.Header{ID: "i1", From: "example.com", To: "a@example.com", Lang: "en"}
	got := string(appendOpen(nil, &h))
	want := `<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' version='1.0' from='example.com' to='a@example.com' id='i1' xml:lang='en'/>`
	if got != want {
		t.Errorf("open:\n got %s\nwant %s", got, want)
	}
	got = string(appendClose(nil, "wss://other.example/xmpp?a=1&b=2"))
	want = `<close xmlns='urn:ietf:params:xml:ns:xmpp-framing' see-other-uri='wss://other.example/xmpp?a=1&amp;b=2'/>`
	if got != want {
		t.Errorf("close:\n got %s\nwant %s", got, want)
	}
	got = string(bridge.AppendStreamError(nil, "policy-violation", "a <b>"))
	want = `<stream:error xmlns:stream='http://etherx.jabber.org/streams'><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>a &lt;b&gt;</text></stream:error>`
	if got != want {
		t.Errorf("error:\n got %s\nwant %s", got, want)
	}
	for _, b := range []string{got, string(appendOpen(nil, &h)), string(appendClose(nil, "x"))} {
		if _, err := xmlsplit.Parse([]byte(b), xmlsplit.ParseOptions{}); err != nil {
			t.Errorf("%s does not parse: %v", b, err)
		}
	}
}

// FuzzParseFrame: no input panics, and whatever is relayed upstream is one
// element that parses again on its own.
func FuzzParseFrame(f *testing.F) {
	for _, s := range []string{
		`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="localhost" version="1.0"/>`,
		`<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>`,
		`<message xmlns="jabber:client" to="b@x"><body>&lt;hi&gt;</body></message>`,
		`<iq type="set" id="c9sx5k33on" xmlns="jabber:client"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>r</resource></bind></iq>`,
		`<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="SCRAM-SHA-1">biwsbj1hbGljZSxy</auth>`,
		`<enable xmlns="urn:xmpp:sm:3" resume="true"/>`,
		`</stream:stream>`, `<a/><b/>`, " ",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		fr, err := parseFrame(msg, xmlsplit.Limits{MaxBytes: 4096})
		if err != nil {
			if err.StreamCondition() == "" {
				t.Fatalf("error without a stream condition: %v", err)
			}
			return
		}
		if fr.kind == frameElement {
			if _, err := xmlsplit.Parse(fr.elem, xmlsplit.ParseOptions{}); err != nil {
				t.Fatalf("relayed %q does not parse alone: %v", fr.elem, err)
			}
		}
	})
}
