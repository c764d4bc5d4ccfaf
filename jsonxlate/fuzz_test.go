package jsonxlate

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

func goldenFiles(f *testing.F, pattern string) [][]byte {
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, bytes.TrimSpace(b))
	}
	return out
}

// FuzzRoundTripXML: every element xmlsplit accepts converts to JSON, and
// back to the same XML (canonically), and again to the same JSON.
func FuzzRoundTripXML(f *testing.F) {
	for _, b := range goldenFiles(f, "*.xml") {
		f.Add(b, true)
	}
	f.Add([]byte(`<message><body>x</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>`), true)
	f.Add([]byte(`<a xmlns='u' xmlns:p='v' p:x='&#9;'><![CDATA[]]><p:b>&#13;</p:b></a>`), false)
	f.Add([]byte(`<message>a<active xmlns='http://jabber.org/protocol/chatstates'/> <x xmlns='u'/><body xml:lang='de'>d</body><body>b</body><body>c</body>b</message>`), true)
	f.Fuzz(func(t *testing.T, in []byte, inStream bool) {
		ns, opt := "", xmlsplit.ParseOptions{Limits: xmlsplit.Limits{MaxBytes: len(in) + 1}}
		if inStream {
			ns, opt.Context = streamNS, [][]byte{[]byte("stream")}
		}
		j, err := AppendJSON(nil, in, ns)
		if _, perr := xmlsplit.Parse(in, opt); perr != nil {
			if err == nil {
				t.Fatalf("AppendJSON accepted what xmlsplit rejects (%v): %s", perr, j)
			}
			return
		}
		if err != nil {
			t.Fatalf("AppendJSON: %v", err)
		}
		if !json.Valid(j) {
			t.Fatalf("not JSON: %s", j)
		}
		checkRoundTrip(t, in, ns, j)
	})
}

// FuzzFromJSON: any JSON is either an *Error or XML that xmlsplit accepts
// and whose JSON converts back to the same XML and is then stable.
func FuzzFromJSON(f *testing.F) {
	for _, b := range goldenFiles(f, "*.json") {
		f.Add(b)
	}
	f.Add([]byte(`{"kind":"message","body":"x","payload":[" ",{"name":"body","children":["a","b"]}]}`))
	f.Add([]byte(`{"kind":"element","element":{"name":"a","xmlns":"","attrs":{"{u}b":"\u0009","xml:c":"d"}}}`))
	f.Add([]byte(`{"kind":"message","subject":"s","subjects":[{"lang":"de","text":"s2"}],"body":"b","bodies":[{"lang":"fr"}],"thread":"t","thread_parent":"p","chat_state":"paused","receipt_request":true,"received":"r","delay":{"stamp":"s","from":"f","text":"t"},"carbon":{"direction":"sent","message":{"body":"c"},"delay":{"stamp":"x"}},"error":{"condition":"x"},"payload":["text",{"name":"x","xmlns":"urn:x"}]}`))
	f.Add([]byte(`{"kind":"message","body":"b","bodies":[{"lang":"de"}],"chat_state":"active","carbon":{"direction":"received","message":{"receipt_request":true,"thread":"t","order":["thread","receipt_request"]}},"payload":["t",{"name":"x"}],"order":["payload[1]","chat_state","carbon","bodies[0]","payload[0]","body"]}`))
	f.Add([]byte(`{"kind":"presence","show":"xa","status":"away","statuses":[{"lang":"de","text":"weg"}],"priority":-5,"delay":{"stamp":"s"},"error":{"type":"cancel","condition":"gone","text":"t","text_lang":"en","by":"b","code":"302","app":{"name":"a","xmlns":"urn:a"}}}`))
	f.Add([]byte(`{"kind":"iq","attrs":{"{jabber:client}to":"x","xml:space":"d"},"roster":{"ver":"v","items":[{"jid":"a","approved":true,"groups":["g"]}]},"payload":[{"name":"l","xmlns":"http://www.w3.org/XML/1998/namespace","children":[{"name":"m","xmlns":""}]}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		x, err := AppendXML(nil, in)
		kind, _, perr := Peek(in)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error is not an *Error: %v", err)
			}
			switch e.Code {
			case CodeBadJSON, CodeUnknownKind, CodeMissingField, CodeBadValue, CodeTooLarge:
			default:
				t.Fatalf("unknown code: %v", err)
			}
			if !json.Valid(in) && e.Code != CodeBadJSON && e.Code != CodeTooLarge {
				t.Fatalf("invalid JSON gave %v", err)
			}
			return
		}
		if perr != nil || (kind != "message" && kind != "presence" && kind != "iq" && kind != "element") {
			t.Fatalf("AppendXML accepted a frame Peek reads as %q, %v", kind, perr)
		}
		if _, err := xmlsplit.Parse(x, xmlsplit.ParseOptions{Limits: xmlsplit.Limits{MaxBytes: len(x) + 1}}); err != nil {
			t.Fatalf("AppendXML wrote XML that xmlsplit rejects: %v\n%s\nfrom %s", err, x, in)
		}
		j, err := AppendJSON(nil, x, "")
		if err != nil {
			t.Fatalf("AppendJSON(%s): %v", x, err)
		}
		// The element stands alone: inside a stream it means the same.
		if js, err := AppendJSON(nil, x, streamNS); err != nil || !bytes.Equal(j, js) {
			t.Fatalf("the element means something else inside a stream: %s\n%s\n%s", x, j, js)
		}
		checkRoundTrip(t, x, "", j)
	})
}
