package xmlsplit

import (
	"fmt"
	"testing"
)

// TestTrimKeepsStream trims before every call of Split, partial items
// included, and expects the same items as without.
func TestTrimKeepsStream(t *testing.T) {
	var plain Splitter
	want, err := splitAll(t, &plain, prosodySession, len(prosodySession))
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{1, 5, 64, len(prosodySession)} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			var sp Splitter
			var got []item
			var buf []byte
			fed := 0
			for {
				sp.Trim()
				it, n, err := sp.Split(buf)
				if err != nil {
					t.Fatal(err)
				}
				if n > 0 {
					if it.Kind != 0 {
						got = append(got, toItem(it))
					}
					buf = buf[n:]
					continue
				}
				if fed == len(prosodySession) {
					break
				}
				next := min(fed+size, len(prosodySession))
				buf = append(append([]byte(nil), buf...), prosodySession[fed:next]...)
				fed = next
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("got\n%v\nwant\n%v", got, want)
			}
			if ns, ok := sp.Namespace(nil); !ok || ns != nsClient {
				t.Errorf("after Trim, Namespace(nil) = %q, %v", ns, ok)
			}
		})
	}
}

// TestTrimHoldsNothing checks that a trimmed Splitter keeps no scratch
// space and that the next Split takes some back.
func TestTrimHoldsNothing(t *testing.T) {
	var sp Splitter
	if _, err := splitAll(t, &sp, prosodyStream, len(prosodyStream)); err != nil {
		t.Fatal(err)
	}
	sp.Trim()
	sc := &sp.sc
	if sc.attrs != nil || sc.stack != nil || sc.binds != nil || sp.attrs != nil || sp.borrowed != nil {
		t.Fatal("Trim kept scratch space")
	}
	it, n, err := sp.Split([]byte(`<message to='a@b'><body>x</body></message>`))
	if err != nil || n == 0 || it.Kind != KindElement || len(it.Element.Attrs) != 1 {
		t.Fatalf("Split after Trim = %v, %d, %v", toItem(it), n, err)
	}
}

func BenchmarkSplitTrim(b *testing.B) {
	msg := []byte(`<message xmlns='jabber:client' to='bob@localhost' from='alice@localhost/x' type='chat' id='m1'><body>hello</body></message>`)
	var sp Splitter
	if _, _, err := sp.Split([]byte(prosodyHeader)); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := sp.Split(msg); err != nil {
			b.Fatal(err)
		}
		sp.Trim()
	}
}
