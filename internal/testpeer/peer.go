// Package testpeer is, for integration tests, an ordinary user of the test
// Prosody whom the bridge does not carry: a client logged in straight to
// the server, a third party whose stanzas reach the bridge's users. It
// also holds scenarios such a third party plays, run against a bridge user
// on any transport (see Poison).
//
// Concurrency: a Peer is used by one test goroutine; its reader runs on a
// goroutine of its own until the test ends.
package testpeer

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/testbed"
	"github.com/xmppbridge/xmppbridge/xmppclient"
)

// Timeout bounds every wait of this package.
const Timeout = 15 * time.Second

// Peer is a user logged in straight to the test Prosody.
type Peer struct {
	t      testing.TB
	c      *xmppclient.Conn
	JID    string // the bound full JID
	events chan string
	ended  chan error
	inbox  backlog
	nextID int
}

// Login logs user in to p with testbed.Password, straight to its c2s port
// (plaintext over loopback), and closes the stream when the test ends.
func Login(t testing.TB, p *testbed.Prosody, user, resource string) *Peer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	c, err := xmppclient.Login(ctx, xmppclient.Config{Domain: p.Domain, Addr: p.C2SAddr, Security: xmppclient.Plaintext},
		xmppclient.Credentials{Username: user, Password: testbed.Password, Resource: resource})
	if err != nil {
		t.Fatalf("testpeer: login %s: %v", user, err)
	}
	pr := &Peer{t: t, c: c, JID: c.JID(), events: make(chan string, 256), ended: make(chan error, 1)}
	go pr.read()
	t.Cleanup(func() {
		_ = c.CloseStream()
		_ = c.Close()
	})
	return pr
}

func (p *Peer) read() {
	for {
		ev, err := p.c.Next()
		if err != nil {
			p.ended <- err
			return
		}
		if ev.Kind == xmppclient.EventElement {
			p.events <- string(ev.Data)
		}
	}
}

// Send writes a stanza as it is.
func (p *Peer) Send(stanza string) {
	p.t.Helper()
	if err := p.c.Write([]byte(stanza)); err != nil {
		p.t.Fatalf("testpeer: %s: send: %v", p.JID, err)
	}
}

// Sync pings the server and waits for the answer: the server has then
// handled everything sent before.
func (p *Peer) Sync() {
	p.t.Helper()
	p.nextID++
	id := "sync" + itoa(p.nextID)
	p.Send("<iq type='get' id='" + id + "'><ping xmlns='urn:xmpp:ping'/></iq>")
	p.Await("the server's answer to "+id, "id='"+id+"'")
}

// Await waits for a stanza holding every string of want, and returns it.
// Stanzas that do not match are kept for later calls.
func (p *Peer) Await(what string, want ...string) string {
	p.t.Helper()
	return p.inbox.await(p.t, p.JID+": "+what, want, func() (string, bool) {
		select {
		case s := <-p.events:
			return s, true
		case err := <-p.ended:
			p.t.Fatalf("testpeer: %s: the stream ended while waiting for %s: %v", p.JID, what, err)
		case <-time.After(Timeout):
		}
		return "", false
	})
}

// backlog keeps what was read but not yet awaited.
type backlog struct{ kept []string }

// await returns the first kept or newly read item holding every string of
// want. next returns false when nothing came in time.
func (b *backlog) await(t testing.TB, what string, want []string, next func() (string, bool)) string {
	t.Helper()
	match := func(s string) bool {
		for _, w := range want {
			if !strings.Contains(s, w) {
				return false
			}
		}
		return true
	}
	for i, s := range b.kept {
		if match(s) {
			b.kept = append(b.kept[:i], b.kept[i+1:]...)
			return s
		}
	}
	for {
		s, ok := next()
		if !ok {
			t.Fatalf("testpeer: no %s (want %q) within %v; got meanwhile:\n%s", what, want, Timeout, strings.Join(b.kept, "\n"))
		}
		if match(s) {
			return s
		}
		b.kept = append(b.kept, s)
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
