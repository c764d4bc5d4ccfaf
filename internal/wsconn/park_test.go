package wsconn

import "testing"

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
