package wsframe

import (
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
)

// parked counts the goroutines whose stack holds fn.
func parked(fn string) int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	return strings.Count(string(buf), fn)
}

// waitParked waits until n readers are parked in awaitRead.
func waitParked(t *testing.T, n int) {
	t.Helper()
	for i := 0; parked("wsconn.(*Conn).awaitRead(") != n; i++ {
		if i > 500 {
			t.Fatalf("%d readers parked in awaitRead, want %d", parked("wsconn.(*Conn).awaitRead("), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Frame header bits (RFC 6455 §5.2) for the frames the tests build.
const (
	finBit  = 0x80
	maskBit = 0x80
	opPing  = 0x9
	opPong  = 0xa
)

// maskedFrame is a client frame: FIN, opcode op, masked payload.
func maskedFrame(fin bool, op byte, payload string) []byte {
	b0 := op
	if fin {
		b0 |= finBit
	}
	key := [4]byte{0x11, 0x22, 0x33, 0x44}
	f := []byte{b0, maskBit | byte(len(payload))}
	f = append(f, key[:]...)
	for i := range len(payload) {
		f = append(f, payload[i]^key[i&3])
	}
	return f
}

// An idle connection's reader waits in awaitRead; pings and pongs between
// messages are taken there (a ping answered with its payload, either
// keeping the connection alive), and it still reads messages after them.
func TestIdleReaderParks(t *testing.T) {
	up := fakexmpp.Start(t, fakexmpp.Echo)
	e := newEnv(t, up.Addr, Config{PingInterval: 250 * time.Millisecond})
	c := e.dial(t)
	c.send(openFrame)
	expect(t, c.read(), "<open ")
	expect(t, c.read(), "<stream:features")
	waitParked(t, 1)

	// The bridge pings every 250 ms and hears nothing from the browser but
	// pongs: without them it would end the stream after 500 ms. (Shorter
	// intervals make the test depend on how loaded the machine is.)
	pongs := make(chan string, 16)
	c.ws.SetPongHandler(func(s string) error {
		select {
		case pongs <- s:
		default:
		}
		return nil
	})
	readErr := make(chan error, 1)
	msgs := make(chan string, 4)
	go func() {
		for {
			_, b, err := c.ws.ReadMessage() // answers the bridge's pings
			if err != nil {
				readErr <- err
				return
			}
			msgs <- string(b)
		}
	}()
	for i := range 5 {
		payload := "p" + strings.Repeat("x", i*30)
		if err := c.ws.WriteControl(websocket.PingMessage, []byte(payload), time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-pongs:
			if got != payload {
				t.Fatalf("pong %q, want %q", got, payload)
			}
		case err := <-readErr:
			t.Fatalf("connection ended: %v", err)
		case <-time.After(5 * time.Second):
			t.Fatal("no pong")
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitParked(t, 1)

	// A ping written in two pieces, then a message in the same segment as
	// a pong: both reach the read loop, which handles them as usual.
	nc := c.ws.NetConn()
	ping := maskedFrame(true, opPing, "split")
	if _, err := nc.Write(ping[:3]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if _, err := nc.Write(ping[3:]); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-pongs:
		if got != "split" {
			t.Fatalf("pong %q, want split", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no pong to the split ping")
	}
	msg := `<message xmlns="jabber:client" to="b@localhost" id="2"><body>after pongs</body></message>`
	both := append(maskedFrame(true, opPong, ""), maskedFrame(true, websocket.TextMessage, msg)...)
	if _, err := nc.Write(both); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-msgs:
		if got != msg {
			t.Fatalf("echo %s, want %s", got, msg)
		}
	case err := <-readErr:
		t.Fatalf("connection ended: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("no echo")
	}
	waitParked(t, 1)
}

// A control frame that breaks RFC 6455 is left to gorilla/websocket, which
// ends the connection with 1002 (protocol error).
func TestParkedReaderBadControlFrame(t *testing.T) {
	for _, tc := range []struct {
		name  string
		frame []byte
	}{
		{"unmasked ping", []byte{finBit | opPing, 2, 'h', 'i'}},
		{"fragmented ping", maskedFrame(false, opPing, "hi")},
		{"reserved bit", append([]byte{finBit | 0x40 | opPong}, maskedFrame(true, opPong, "hi")[1:]...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := fakexmpp.Start(t, fakexmpp.Echo)
			e := newEnv(t, up.Addr, Config{})
			c := e.dial(t)
			c.send(openFrame)
			expect(t, c.read(), "<open ")
			expect(t, c.read(), "<stream:features")
			waitParked(t, 1)
			if _, err := c.ws.NetConn().Write(tc.frame); err != nil {
				t.Fatal(err)
			}
			if code := c.closeCode(); code != websocket.CloseProtocolError {
				t.Fatalf("close code %d, want 1002", code)
			}
		})
	}
}
