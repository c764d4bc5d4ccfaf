package bosh

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

// A typical chat message as Prosody relays it: no xmlns of its own (the
// bridge declares jabber:client when framing it), an extension or two. The
// same as wsframe's benchmarks use.
const benchStanza = "<message from='bob@localhost/test-bob-22781' to='alice@localhost' id='m-1795272055576' type='chat' xml:lang='en'><body>ping &lt;&amp;&gt; ü€😀 a typical line of chat</body><active xmlns='http://jabber.org/protocol/chatstates'/><stanza-id by='alice@localhost' id='_ZQn7uJZ2OJ20t_TvGRAo3Fp' xmlns='urn:xmpp:sid:0'/></message>"

// benchClient posts raw bodies and reads raw answers, so that the
// benchmark counts little besides the bridge's own work.
type benchClient struct {
	b   *testing.B
	e   *env
	sid string
	rid uint64
}

func (c *benchClient) post(rid uint64, kids string) []byte {
	body := "<body rid='" + strconv.FormatUint(rid, 10) + "' sid='" + c.sid + "' xmlns='" + nsHTTPBind + "'>" + kids + "</body>"
	res, err := client.Post(c.e.url, "text/xml; charset=utf-8", strings.NewReader(body))
	if err != nil {
		c.b.Error(err)
		return nil
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.b.Error(err)
	}
	if res.StatusCode != http.StatusOK || bytes.Contains(b, []byte("condition=")) {
		c.b.Errorf("status %d: %s", res.StatusCode, b)
	}
	return b
}

func benchOpen(b *testing.B, e *env) *benchClient {
	r := e.post(b, fmt.Sprintf("<body rid='1' %s xmlns='%s'/>", createAttrs, nsHTTPBind))
	return &benchClient{b: b, e: e, sid: r.attrs["sid"], rid: 1}
}

// BenchmarkRelayToBrowser measures one stanza from the upstream socket to
// the browser's HTTP response: split, copy, queue, pull, frame into a
// <body/>, write. The client keeps one request held, as Strophe.js does,
// and asks for 64 stanzas at a time.
func BenchmarkRelayToBrowser(b *testing.B) {
	chunks := []byte(strings.Repeat(benchStanza, 64))
	up := fakexmpp.Start(b, func(c *fakexmpp.Conn) {
		c.Open("bench", "<stream:features/>")
		for {
			it, err := c.Read()
			if err != nil || it.Kind != xmlsplit.KindElement {
				return
			}
			// <go n='N'/>: send N stanzas in one write.
			n, _ := strconv.Atoi(strings.Split(it.Raw, "'")[3])
			if _, err := c.Write(chunks[:n*len(benchStanza)]); err != nil {
				return
			}
		}
	})
	e := newEnv(b, up.Addr, Config{})
	c := benchOpen(b, e)

	b.SetBytes(int64(len(benchStanza)))
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(64, b.N-done)
		c.rid++
		got := bytes.Count(c.post(c.rid, "<go xmlns='urn:bench' n='"+strconv.Itoa(n)+"'/>"), []byte("<message "))
		for got < n && !b.Failed() {
			c.rid++
			got += bytes.Count(c.post(c.rid, ""), []byte("<message "))
		}
		done += n
	}
}

// BenchmarkRelayToServer measures one stanza from the browser's request to
// the upstream socket: read, check the <body/>, check each payload, write.
// Requests carry 16 stanzas each, as a busy client batches them; each one
// releases the request held before it (hold=1).
func BenchmarkRelayToServer(b *testing.B) {
	msg := "<message xmlns='jabber:client' to='bob@localhost' id='m1' type='chat'><body>ping &lt;&amp;&gt; ü€😀 a typical line of chat</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>"
	const batch = 16
	kids := strings.Repeat(msg, batch)
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
	c := benchOpen(b, e)

	requests := (b.N + batch - 1) / batch
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	want <- int64(requests * batch * len(msg))
	prev := make(chan struct{})
	close(prev)
	for range requests {
		c.rid++
		rid, wait := c.rid, prev
		next := make(chan struct{})
		go func() {
			c.post(rid, kids)
			close(next)
		}()
		<-wait
		prev = next
	}
	if k := <-got; k != int64(requests*batch*len(msg)) {
		b.Fatalf("server got %d bytes, want %d", k, requests*batch*len(msg))
	}
	b.StopTimer()
	c.rid++
	e.post(b, fmt.Sprintf("<body rid='%d' sid='%s' type='terminate' xmlns='%s'/>", c.rid, c.sid, nsHTTPBind)) // releases the last held request
	<-prev
	close(want)
}
