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
	for i := 0; parked("wsframe.(*conn).awaitRead(") != n; i++ {
		if i > 500 {
			t.Fatalf("%d readers parked in awaitRead, want %d", parked("wsframe.(*conn).awaitRead("), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

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
	e := newEnv(t, up.Addr, Config{PingInterval: 40 * time.Millisecond})
	c := e.dial(t)
	c.send(openFrame)
	expect(t, c.read(), "<open ")
	expect(t, c.read(), "<stream:features")
	waitParked(t, 1)

	// The bridge pings every 40 ms and hears nothing from the browser but
	// pongs: without them it would end the stream after 80 ms.
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

// FuzzControlFrame: controlFrame takes exactly the whole, well-formed ping
// and pong frames a browser may send (RFC 6455 §5.2, §5.5: final, no
// reserved bits, masked, at most 125 bytes of payload), unmasks their
// payload, and leaves everything else to gorilla/websocket; a frame made
// from any payload and key comes back as it was.
func FuzzControlFrame(f *testing.F) {
	f.Add([]byte{0x89, 0x80, 1, 2, 3, 4}, byte(0x9), []byte("hello"), uint32(0x01020304))
	f.Add([]byte{0x8a, 0x85, 1, 2, 3, 4, 'a', 'b', 'c', 'd', 'e', 0x89}, byte(0xa), []byte{}, uint32(0))
	f.Add([]byte{0x81, 0x82, 0, 0, 0, 0, 'h', 'i'}, byte(0x1), []byte("x"), uint32(7))
	f.Add([]byte{0x89, 0xfe, 0, 126, 0, 0, 0, 0}, byte(0x9), make([]byte, 126), uint32(1))
	f.Fuzz(func(t *testing.T, in []byte, op byte, payload []byte, key uint32) {
		var got [125]byte
		gotOp, size, n, ok := controlFrame(in, &got)
		wantOK := len(in) >= 6 && in[0]&0xf0 == 0x80 && (in[0]&0x0f == 0x9 || in[0]&0x0f == 0xa) &&
			in[1]&0x80 != 0 && int(in[1]&0x7f) <= 125 && len(in) >= 6+int(in[1]&0x7f)
		if ok != wantOK {
			t.Fatalf("controlFrame(% x) ok = %v, want %v", in, ok, wantOK)
		}
		if ok {
			if gotOp != in[0]&0x0f || size != int(in[1]&0x7f) || n != 6+size {
				t.Fatalf("controlFrame(% x) = op %x, size %d, length %d", in, gotOp, size, n)
			}
			for i := range size {
				if got[i] != in[6+i]^in[2+i%4] {
					t.Fatalf("payload byte %d: %x", i, got[i])
				}
			}
		}

		// Round trip: a ping or pong as a browser frames it.
		op = 0x9 + op%2
		if len(payload) > 125 {
			payload = payload[:125]
		}
		k := [4]byte{byte(key >> 24), byte(key >> 16), byte(key >> 8), byte(key)}
		frame := append([]byte{0x80 | op, 0x80 | byte(len(payload))}, k[:]...)
		for i, c := range payload {
			frame = append(frame, c^k[i%4])
		}
		frame = append(frame, in...) // whatever follows is not read
		gotOp, size, n, ok = controlFrame(frame, &got)
		if !ok || gotOp != op || size != len(payload) || n != 6+len(payload) || string(got[:size]) != string(payload) {
			t.Fatalf("round trip of %x %q: op %x size %d length %d ok %v payload %q", op, payload, gotOp, size, n, ok, got[:size])
		}
	})
}
