package wsconn

import (
	"bufio"
	"net"
	"net/http"

	"github.com/xmppbridge/xmppbridge/internal/netwait"
)

// readBufferSize is the size of each connection's read buffer, held for
// the connection's life. Larger messages are read through it in pieces.
const readBufferSize = 1024

// An idle connection parks its reader in awaitRead: a goroutine that
// started with a small stack and waits for the socket with netwait, while
// the read loop, whose stack grew handling messages, has returned. Such a
// wait needs to know that the read buffer is empty, which gorilla/websocket
// does not tell; so the connection's read buffer is one of ours, handed to
// the upgrader by hijacker (an Upgrader with ReadBufferSize 0 reads through
// the buffered reader the hijack returns).

// hijacker wraps the ResponseWriter given to the upgrader so that the
// hijacked connection's buffered reader is one of readBufferSize bytes that
// the connection can ask for its Buffered count.
type hijacker struct {
	http.ResponseWriter
	br *bufio.Reader // set once the hijack succeeded, which an upgrade needs
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil || rw.Reader.Buffered() > 0 {
		// The upgrader refuses a browser that sent data before the
		// handshake ended; the server's own reader shows it that data.
		return nc, rw, err
	}
	h.br = bufio.NewReaderSize(nc, readBufferSize)
	return nc, bufio.NewReadWriter(h.br, rw.Writer), nil
}

// parkable reports whether the read loop may hand the wait for the
// browser's next frame to awaitRead: nothing is buffered and the socket can
// be waited on (plain TCP; a TLS listener's connections cannot).
func (c *Conn) parkable() bool {
	return c.rawc != nil && c.br.Buffered() == 0
}

// awaitRead runs on a fresh goroutine counted in the Server's WaitGroup.
// It waits for the browser to send something, takes the pings and pongs
// that arrive between messages itself (so that a keepalive exchange leaves
// it parked here rather than inside gorilla/websocket's NextReader, which
// would wait for the next data frame with a grown stack), and goes back to
// the read loop for anything else. A failure is left for the read loop's
// NextReader to report.
func (c *Conn) awaitRead() {
	for {
		if netwait.Readable(c.rawc) != nil {
			break
		}
		if _, err := c.br.Peek(1); err != nil {
			break
		}
		if !c.takeControl() || c.br.Buffered() > 0 {
			break
		}
	}
	c.readLoop(true)
}

// Frame header bits (RFC 6455 §5.2).
const (
	finBit     = 0x80
	rsvBits    = 0x70
	opcodeBits = 0x0f
	maskBit    = 0x80
	opPing     = 0x9
	opPong     = 0xa
)

// takeControl consumes the ping and pong frames wholly in the read buffer,
// as gorilla/websocket would (a ping is answered, either extends the read
// deadline), and reports whether that emptied the buffer. It is called
// only between messages, when gorilla/websocket expects a frame header
// next. Anything else, or a frame not wholly buffered or not well-formed,
// is left for gorilla/websocket to read and judge.
func (c *Conn) takeControl() bool {
	var payload [125]byte
	for {
		n := c.br.Buffered()
		if n == 0 {
			return true
		}
		b, _ := c.br.Peek(n)
		op, size, frameLen, ok := controlFrame(b, &payload)
		if !ok {
			return false
		}
		if op == opPing {
			_ = c.onPing(string(payload[:size]))
		} else {
			_ = c.extendRead()
		}
		_, _ = c.br.Discard(frameLen)
	}
}

// controlFrame reads the ping or pong frame from a browser at the start of
// b (RFC 6455 §5.2, §5.5): its opcode, its payload unmasked into dst[:size],
// and its length on the wire. ok is false unless b starts with a whole
// such frame that is well-formed: final, no reserved bits, masked, a
// payload of at most 125 bytes given in the short form.
func controlFrame(b []byte, dst *[125]byte) (op byte, size, frameLen int, ok bool) {
	if len(b) < 6 {
		return 0, 0, 0, false
	}
	op = b[0] & opcodeBits
	if b[0]&(finBit|rsvBits) != finBit || (op != opPing && op != opPong) ||
		b[1]&maskBit == 0 || b[1]&^maskBit > 125 {
		return 0, 0, 0, false
	}
	size = int(b[1] &^ maskBit)
	if len(b) < 6+size {
		return 0, 0, 0, false
	}
	key := b[2:6]
	for i := range size {
		dst[i] = b[6+i] ^ key[i&3]
	}
	return op, size, 6 + size, true
}
