//go:build integration

package bridge

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/testbed"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// TestUpstreamResumedInPlace: a session whose stream management the bridge
// does, against real Prosody and ejabberd, has its upstream link closed
// under it while a contact writes and the browser sends; the reader
// resumes the stream with the salted password, and the browser gets every
// message once and in order, and the contact every one of the browser's
// once.
func TestUpstreamResumedInPlace(t *testing.T) {
	for _, kind := range []testbed.Kind{testbed.KindProsody, testbed.KindEjabberd} {
		t.Run(string(kind), func(t *testing.T) {
			p := testbed.StartWith(t, testbed.Options{Kind: kind})
			h := New(Config{Upstream: plaintextTo(p.C2SAddr)})
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = h.Shutdown(ctx)
			})
			r := newRecorder()
			s, err := h.Open(context.Background(), OpenRequest{To: p.Domain, StreamManagement: true,
				Login: &xmppclient.Credentials{Username: "alice", Password: testbed.Password, Resource: "web"}}, r)
			if err != nil {
				t.Fatal(err)
			}
			if st := s.SM(); !st.On || st.ID == "" || s.Secret() == nil {
				t.Fatalf("stream management %+v, secret %v", st, s.Secret())
			}
			bob, err := xmppclient.Login(context.Background(), xmppclient.Config{Domain: p.Domain, Addr: p.C2SAddr, Security: xmppclient.Plaintext},
				xmppclient.Credentials{Username: "bob", Password: testbed.Password, Resource: "b"})
			if err != nil {
				t.Fatal(err)
			}
			defer bob.Close()
			chat := func(to, body string) []byte {
				return fmt.Appendf(nil, "<message to='%s' type='chat'><body>%s</body></message>", to, body)
			}
			// body returns the next message body the browser gets, with
			// its number.
			body := func() (string, uint64) {
				t.Helper()
				for {
					it := r.next(t)
					switch {
					case it.End != nil:
						t.Fatalf("the session ended: %v", it.End)
					case strings.HasPrefix(string(it.Data), "<message"):
						b := string(it.Data)
						if i := strings.Index(b, "<body>"); i >= 0 {
							b = b[i+6:]
							return b[:strings.Index(b, "</body>")], it.Seq
						}
					}
				}
			}
			if err := bob.Write(chat(s.JID(), "m1")); err != nil {
				t.Fatal(err)
			}
			got, seq := body()
			if got != "m1" || seq == 0 {
				t.Fatalf("got %q seq %d", got, seq)
			}
			s.Handled(seq)

			// The link breaks, with a message on its way each way.
			s.upstream().Close()
			if err := bob.Write(chat(s.JID(), "m2")); err != nil {
				t.Fatal(err)
			}
			if err := s.Send(chat(bob.JID(), "from alice")); err != nil {
				t.Fatal(err)
			}
			if got, _ := body(); got != "m2" {
				t.Fatalf("after the resume: %q", got)
			}
			if err := bob.Write(chat(s.JID(), "m3")); err != nil {
				t.Fatal(err)
			}
			if got, _ := body(); got != "m3" {
				t.Fatalf("after the resume: %q, want m3 (and m2 once)", got)
			}
			var bodies []string
			for len(bodies) < 1 {
				ev, err := bob.Next()
				if err != nil {
					t.Fatal(err)
				}
				if i := strings.Index(string(ev.Data), "<body>"); i >= 0 {
					b := string(ev.Data[i+6:])
					bodies = append(bodies, b[:strings.Index(b, "</body>")])
				}
			}
			if err := s.Send(chat(bob.JID(), "marker")); err != nil {
				t.Fatal(err)
			}
			for len(bodies) < 2 {
				ev, err := bob.Next()
				if err != nil {
					t.Fatal(err)
				}
				if i := strings.Index(string(ev.Data), "<body>"); i >= 0 {
					b := string(ev.Data[i+6:])
					bodies = append(bodies, b[:strings.Index(b, "</body>")])
				}
			}
			if bodies[0] != "from alice" || bodies[1] != "marker" {
				t.Fatalf("bob got %q", bodies)
			}
			if st := h.Stats(); st.Resumed != 1 || st.ResumeFailed != 0 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}
