package bosh

import (
	"net/http"
	"testing"

	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
)

// Handler.Stats counts sessions and held requests; the Hub counts what
// BOSH sessions carry under "bosh".
func TestStats(t *testing.T) {
	up := fakexmpp.Start(t, fakexmpp.Echo)
	e := newEnv(t, up.Addr, Config{})
	if st := e.h.Stats(); st != (Stats{}) {
		t.Fatalf("Stats() before any session = %+v", st)
	}
	s, _ := e.open(t, "")
	e.open(t, "")
	held := async(t, func(t testing.TB) resp { return s.send(t, "", "") })
	s.waitHeld(t, 1)
	if st := e.h.Stats(); st != (Stats{Sessions: 2, Held: 1}) {
		t.Fatalf("Stats() = %+v, want two sessions, one request held", st)
	}

	// What a request carries releases the one held, and its echo comes.
	r := s.send(t, "", "<message xmlns='jabber:client' id='m1' to='bob@localhost'><body>hi</body></message>")
	if r.status != http.StatusOK {
		t.Fatalf("send: %s", r)
	}
	recv(t, held)
	bt := e.hub.Stats().Transports["bosh"]
	if bt.Open != 2 || bt.Opened != 2 || bt.StanzasIn != 1 || bt.BytesIn == 0 || bt.StanzasOut < 2 {
		t.Fatalf("hub stats for bosh: %+v", bt)
	}
}
