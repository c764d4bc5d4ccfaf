package bridge

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
)

// awaiting counts the goroutines parked in awaitUpstream.
func awaiting() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), "bridge.(*Session).awaitUpstream(")
}

func waitAwaiting(t *testing.T, n int) {
	t.Helper()
	for i := 0; awaiting() != n; i++ {
		if i > 500 {
			t.Fatalf("%d session readers parked in awaitUpstream, want %d", awaiting(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A session whose server is silent waits for it in awaitUpstream, a fresh
// goroutine, each time the server has nothing more to say; what the server
// sends next still arrives, in order, and the session still ends as usual.
func TestIdleSessionReaderParks(t *testing.T) {
	srv := fakexmpp.Start(t, fakexmpp.Echo)
	h := New(Config{Upstream: plaintextTo(srv.Addr)})
	s, r := open(t, h)
	r.next(t) // header
	r.next(t) // features
	waitAwaiting(t, 1)
	for round := range 3 {
		for i := range 20 {
			if err := s.Send(fmt.Appendf(nil, "<message xmlns='jabber:client' id='r%dm%d'/>", round, i)); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 20 {
			want := fmt.Sprintf("<message xmlns='jabber:client' id='r%dm%d'/>", round, i)
			if it := r.next(t); string(it.Data) != want {
				t.Fatalf("got %q, want %q", it.Data, want)
			}
		}
		waitAwaiting(t, 1)
	}
	s.End(&CloseError{Reason: ReasonNormal})
	if e := r.nextEnd(t); e.Reason != ReasonNormal {
		t.Fatalf("end = %v, want normal", e)
	}
	waitLen(t, h, 0)
	waitAwaiting(t, 0)
}
