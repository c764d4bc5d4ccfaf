package wsframe

import (
	"io"
	"strconv"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

// A typical chat message as Prosody relays it: no xmlns of its own (the
// bridge declares jabber:client when framing it), an extension or two.
const benchStanza = "<message from='bob@localhost/test-bob-22781' to='alice@localhost' id='m-1795272055576' type='chat' xml:lang='en'><body>ping &lt;&amp;&gt; ü€😀 a typical line of chat</body><active xmlns='http://jabber.org/protocol/chatstates'/><stanza-id by='alice@localhost' id='_ZQn7uJZ2OJ20t_TvGRAo3Fp' xmlns='urn:xmpp:sid:0'/></message>"

// BenchmarkRelayToBrowser measures one stanza from the upstream socket to
// the browser's WebSocket: split, copy, queue, frame, write. The fake server
// and the client only write and read raw bytes, so nearly all allocation
// counted is the bridge's.
func BenchmarkRelayToBrowser(b *testing.B) {
	chunks := []byte(strings.Repeat(benchStanza, 64)) // requests ask for at most 64
	up := fakexmpp.Start(b, func(c *fakexmpp.Conn) {
		c.Open("bench", "<stream:features/>")
		for {
			it, err := c.Read()
			if err != nil || it.Kind != xmlsplit.KindElement {
				return
			}
			// <go n='N'/>: send N stanzas in one write.
			n, _ := strconv.Atoi(strings.Split(it.Raw, "'")[1])
			if _, err := c.Write(chunks[:n*len(benchStanza)]); err != nil {
				return
			}
		}
	})
	e := newEnv(b, up.Addr, Config{})
	c := e.dialB(b)
	c.WriteMessage(websocket.TextMessage, []byte(openFrame))
	readN(b, c, 2) // <open/>, features

	b.SetBytes(int64(len(benchStanza)))
	b.ReportAllocs()
	b.ResetTimer()
	// Ask for batches of 64 with at most four in flight: a browser that
	// keeps up, as opposed to one the queue bound would cut off.
	const batch, window = 64, 4
	ask := func(n int) { c.WriteMessage(websocket.TextMessage, []byte("<go n='"+strconv.Itoa(n)+"'/>")) }
	asked := 0
	for ; asked < b.N && asked < batch*window; asked += batch {
		ask(min(batch, b.N-asked))
	}
	for done := 0; done < b.N; {
		n := min(batch, b.N-done)
		readN(b, c, n)
		done += n
		if asked < b.N {
			ask(min(batch, b.N-asked))
			asked += batch
		}
	}
}

// BenchmarkRelayToServer measures one stanza from the browser's WebSocket
// to the upstream socket: read, check, write.
func BenchmarkRelayToServer(b *testing.B) {
	msg := []byte(`<message xmlns='jabber:client' to='bob@localhost' id='m1' type='chat'><body>ping &lt;&amp;&gt; ü€😀 a typical line of chat</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>`)
	got := make(chan int64, 1)
	want := make(chan int64, 1)
	up := fakexmpp.Start(b, func(c *fakexmpp.Conn) {
		c.Open("bench", "<stream:features/>")
		for n := range want {
			k, _ := io.CopyN(io.Discard, c.Conn, n)
			got <- k
		}
	})
	e := newEnv(b, up.Addr, Config{})
	c := e.dialB(b)
	c.WriteMessage(websocket.TextMessage, []byte(openFrame))
	readN(b, c, 2)

	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	want <- int64(b.N * len(msg))
	for range b.N {
		if err := c.WriteMessage(websocket.TextMessage, msg); err != nil {
			b.Fatal(err)
		}
	}
	if k := <-got; k != int64(b.N*len(msg)) {
		b.Fatalf("server got %d bytes, want %d", k, b.N*len(msg))
	}
	close(want)
}

func (e *env) dialB(b *testing.B) *websocket.Conn {
	ws, _, err := (&websocket.Dialer{Subprotocols: []string{"xmpp"}}).Dial(e.url, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ws.Close() })
	return ws
}

func readN(b *testing.B, c *websocket.Conn, n int) {
	for range n {
		_, r, err := c.NextReader()
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, r)
	}
}
