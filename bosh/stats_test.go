package bosh

import (
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

	// What a request carries releases the one held, and its echo comes
	// back on one of the two: which one is a race, so neither answer is
	// waited for (the Handler's shutdown answers what is left).
	async(t, func(t testing.TB) resp {
		return s.send(t, "", "<message xmlns='jabber:client' id='m1' to='bob@localhost'><body>hi</body></message>")
	})
	waitFor(t, "the message and its echo counted", func() bool {
		bt := e.hub.Stats().Transports["bosh"]
		return bt.StanzasIn == 1 && bt.StanzasOut == 3 // features twice, and the echo
	})
	bt := e.hub.Stats().Transports["bosh"]
	if bt.Open != 2 || bt.Opened != 2 || bt.BytesIn == 0 || bt.BytesOut == 0 {
		t.Fatalf("hub stats for bosh: %+v", bt)
	}
	recv(t, held)
}
