package jsonxlate

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

var update = flag.Bool("update", false, "rewrite testdata/*.json from the current output")

// streamNS is what a stanza borrows from a c2s stream header.
const streamNS = " xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'"

// TestGolden converts every testdata/*.xml (examples from RFC 6120, RFC
// 6121, XEP-0085, XEP-0184, XEP-0203 and XEP-0280, and stanzas as servers
// send them) and checks: XML → JSON matches the .json beside it; JSON → XML
// gives the same XML up to what the mapping does not keep; JSON → XML →
// JSON gives the same JSON.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".xml")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			in = bytes.TrimSpace(in)
			got, err := AppendJSON(nil, in, streamNS)
			if err != nil {
				t.Fatalf("AppendJSON: %v", err)
			}
			goldenFile := strings.TrimSuffix(file, ".xml") + ".json"
			if *update {
				var pretty bytes.Buffer
				if err := json.Indent(&pretty, got, "", "  "); err != nil {
					t.Fatalf("output is not JSON: %v\n%s", err, got)
				}
				pretty.WriteByte('\n')
				if err := os.WriteFile(goldenFile, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			golden, err := os.ReadFile(goldenFile)
			if err != nil {
				t.Fatalf("%v (run go test ./jsonxlate -update)", err)
			}
			var want bytes.Buffer
			if err := json.Compact(&want, golden); err != nil {
				t.Fatalf("golden is not JSON: %v", err)
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Fatalf("XML → JSON\n got: %s\nwant: %s", got, want.Bytes())
			}
			checkRoundTrip(t, in, streamNS, got)
		})
	}
}

// checkRoundTrip checks, for XML in (read with ns) and its JSON j, that
// j → XML is standalone XML with the same content as in, and that it
// converts back to j.
func checkRoundTrip(t *testing.T, in []byte, ns string, j []byte) {
	t.Helper()
	x, err := AppendXML(nil, j)
	if err != nil {
		t.Fatalf("AppendXML(%s): %v", j, err)
	}
	if _, err := xmlsplit.Parse(x, xmlsplit.ParseOptions{Limits: xmlsplit.Limits{MaxBytes: len(x) + 1}}); err != nil {
		t.Fatalf("AppendXML wrote XML that xmlsplit rejects: %v\n%s", err, x)
	}
	want, err := canonical(in, ns)
	if err != nil {
		t.Fatalf("canonical(input): %v", err)
	}
	got, err := canonical(x, "")
	if err != nil {
		t.Fatalf("canonical(output): %v\n%s", err, x)
	}
	if got != want {
		t.Fatalf("XML → JSON → XML changed the element\n  in: %s\n out: %s\n  in: %s\n out: %s", in, x, want, got)
	}
	for _, ns := range []string{"", streamNS} {
		j2, err := AppendJSON(nil, x, ns)
		if err != nil {
			t.Fatalf("AppendJSON(AppendXML(j)): %v\n%s", err, x)
		}
		if !bytes.Equal(j, j2) {
			t.Fatalf("JSON → XML → JSON changed the JSON\n was: %s\n now: %s\n xml: %s", j, j2, x)
		}
	}
}

// TestConcurrent runs conversions in parallel, for the race detector: the
// pooled state of AppendJSON must not be shared.
func TestConcurrent(t *testing.T) {
	inputs := [][]byte{benchMessage, benchPresence, []byte(`<stream:features><x xmlns='u'/></stream:features>`)}
	want := make([][]byte, len(inputs))
	for i, in := range inputs {
		j, err := AppendJSON(nil, in, streamNS)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = j
	}
	done := make(chan error)
	for g := 0; g < 8; g++ {
		go func() {
			var buf []byte
			for n := 0; n < 200; n++ {
				i := (g + n) % len(inputs)
				var err error
				if buf, err = AppendJSON(buf[:0], inputs[i], streamNS); err != nil || !bytes.Equal(buf, want[i]) {
					done <- fmt.Errorf("got %s, %v", buf, err)
					return
				}
				if _, err := AppendXML(nil, buf); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
