//go:build integration

package xmppclient

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/testbed"
)

// TestStreamManagement: against real Prosody and ejabberd, a Login with
// StreamManagement enables XEP-0198 with resumption, numbers the stanzas
// it reads, gets the server's acknowledgements of what it writes, and,
// after its TCP connection is closed under it, is resumed by Resume —
// with the salted password rather than the password — whereupon the
// server sends again exactly what was not handled and takes again what it
// lacks.
func TestStreamManagement(t *testing.T) {
	for _, kind := range []testbed.Kind{testbed.KindProsody, testbed.KindEjabberd} {
		t.Run(string(kind), func(t *testing.T) {
			p := testbed.StartWith(t, testbed.Options{Kind: kind})
			cfg := Config{Domain: p.Domain, Addr: p.C2SAddr, Security: Plaintext, StreamManagement: true}
			ctx := context.Background()
			alice, err := Login(ctx, cfg, Credentials{Username: "alice", Password: testbed.Password, Resource: "sm"})
			if err != nil {
				t.Fatal(err)
			}
			defer alice.Close()
			st := alice.SM()
			if !st.On || st.ID == "" || !alice.Resumable() {
				t.Fatalf("stream management %+v, resumable %v", st, alice.Resumable())
			}
			t.Logf("enabled: %+v", st)
			bob, err := Login(ctx, Config{Domain: p.Domain, Addr: p.C2SAddr, Security: Plaintext}, Credentials{Username: "bob", Password: testbed.Password, Resource: "b"})
			if err != nil {
				t.Fatal(err)
			}
			defer bob.Close()

			send := func(c *Conn, to, body string) {
				t.Helper()
				if err := c.Write([]byte(fmt.Sprintf("<message to='%s' type='chat'><body>%s</body></message>", to, body))); err != nil {
					t.Fatal(err)
				}
			}
			events := make(chan Event, 64)
			go func() {
				defer close(events)
				for {
					ev, err := alice.Next()
					if err != nil {
						return
					}
					events <- ev
				}
			}()
			// next returns the next message body read and its Seq, or the
			// acknowledgement count of an EventAcked (body "").
			next := func(events <-chan Event) (string, uint64) {
				t.Helper()
				for {
					select {
					case ev, ok := <-events:
						if !ok {
							t.Fatal("the stream ended")
						}
						if ev.Kind == EventAcked {
							return "", ev.Seq
						}
						if i := strings.Index(string(ev.Data), "<body>"); i >= 0 && strings.HasPrefix(string(ev.Data), "<message") {
							b := string(ev.Data[i+6:])
							return b[:strings.Index(b, "</body>")], ev.Seq
						}
					case <-time.After(15 * time.Second):
						t.Fatal("nothing came")
					}
				}
			}
			for i := 1; i <= 3; i++ {
				send(bob, alice.JID(), fmt.Sprintf("m%d", i))
			}
			var seqs []uint64
			for i := 1; i <= 3; i++ {
				body, seq := next(events)
				if body != fmt.Sprintf("m%d", i) || seq == 0 {
					t.Fatalf("got %q seq %d, want m%d", body, seq, i)
				}
				seqs = append(seqs, seq)
			}
			if seqs[1] != seqs[0]+1 || seqs[2] != seqs[1]+1 {
				t.Fatalf("seqs %v", seqs)
			}
			// Only m1 is handled; m2 and m3 must come again.
			if err := alice.Handled(seqs[0]); err != nil {
				t.Fatal(err)
			}
			send(alice, bob.JID(), "from alice")
			if body, acked := next(events); body != "" || acked != 1 {
				t.Fatalf("after a write: %q, acknowledged %d", body, acked)
			}

			// The link breaks; bob writes meanwhile.
			secret := alice.Secret()
			if secret == nil {
				t.Fatal("no SCRAM secret")
			}
			r := ResumptionOf(alice)
			r.In = seqs[0]
			jid := alice.JID()
			alice.Close()
			for range events {
			}
			send(bob, jid, "m4")
			// A stanza of ours that the server already has, and one it
			// lacks, as a bridge that lost track would hold them.
			r.Out = [][]byte{[]byte("<message to='" + bob.JID() + "' type='chat'><body>from alice</body></message>"),
				[]byte("<message to='" + bob.JID() + "' type='chat'><body>again</body></message>")}
			r.OutAcked = 0

			var again *Conn
			deadline := time.Now().Add(15 * time.Second)
			for {
				// The server notices the closed connection on its own time.
				again, err = Resume(ctx, cfg, Credentials{Username: "alice", Secret: secret}, r)
				if err == nil || !errors.Is(err, ErrResumeFailed) || time.Now().After(deadline) {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer again.Close()
			if again.JID() != jid || !again.SM().On {
				t.Fatalf("resumed as %q, %+v", again.JID(), again.SM())
			}
			events = make(chan Event, 64)
			go func() {
				defer close(events)
				for {
					ev, err := again.Next()
					if err != nil {
						return
					}
					events <- ev
				}
			}()
			for _, want := range []string{"m2", "m3", "m4"} {
				body, seq := next(events)
				for body == "" {
					body, seq = next(events)
				}
				if body != want || seq == 0 {
					t.Fatalf("after the resume: %q seq %d, want %s", body, seq, want)
				}
			}
			// bob gets "from alice" once and "again" once.
			var bodies []string
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
			if bodies[0] != "from alice" || bodies[1] != "again" {
				t.Fatalf("bob got %q", bodies)
			}

			// A resumption id the server does not know.
			_, err = Resume(ctx, cfg, Credentials{Username: "alice", Password: testbed.Password}, Resumption{ID: "no-such-id", JID: jid})
			if !errors.Is(err, ErrResumeFailed) {
				t.Fatalf("unknown id: %v", err)
			}
		})
	}
}
