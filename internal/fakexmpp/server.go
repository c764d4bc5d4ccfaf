package fakexmpp

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

// DefaultFeatures are the features Echo offers: SASL PLAIN over plaintext,
// as a loopback test server may.
const DefaultFeatures = "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>"

// Server accepts connections and runs a handler on each.
type Server struct {
	Addr string
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	open map[net.Conn]struct{}
}

// Start listens on 127.0.0.1 and serves every connection with h. The server
// is closed when the test ends.
func Start(t testing.TB, h func(*Conn)) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("fakexmpp: listen: %v", err)
	}
	s := &Server{Addr: ln.Addr().String(), ln: ln, open: make(map[net.Conn]struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.open[nc] = struct{}{}
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer func() {
					s.mu.Lock()
					delete(s.open, nc)
					s.mu.Unlock()
					nc.Close()
				}()
				h(&Conn{Conn: nc})
			}()
		}
	}()
	t.Cleanup(s.Close)
	return s
}

// Close stops the server and closes every connection.
func (s *Server) Close() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.open {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Conn is one client connection, read item by item.
type Conn struct {
	net.Conn
	sp  xmlsplit.Splitter
	buf []byte
}

// Item is what the client sent: a stream header, an element or the end.
type Item struct {
	Kind xmlsplit.Kind
	Raw  string
}

// Read returns the next thing the client sent, waiting at most 10 seconds.
func (c *Conn) Read() (Item, error) {
	tmp := make([]byte, 4096)
	for {
		if len(c.buf) > 0 {
			it, n, err := c.sp.Split(c.buf)
			if err != nil {
				return Item{}, err
			}
			if n > 0 {
				raw := string(it.Element.Raw)
				c.buf = c.buf[n:]
				if it.Kind == 0 {
					continue
				}
				return Item{Kind: it.Kind, Raw: raw}, nil
			}
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, err := c.Conn.Read(tmp)
		c.buf = append(c.buf, tmp[:n]...)
		if err != nil && n == 0 {
			return Item{}, err
		}
	}
}

// Send writes raw bytes to the client.
func (c *Conn) Send(s string) error {
	_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.Write([]byte(s))
	return err
}

// Header is the server's stream header as Prosody writes it.
func Header(id string) string {
	return "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' version='1.0' xml:lang='en' id='" + id + "' from='localhost'>"
}

// Open reads the client's stream header and answers with a header and
// features.
func (c *Conn) Open(id, features string) error {
	it, err := c.Read()
	if err != nil {
		return err
	}
	if it.Kind != xmlsplit.KindOpen {
		return fmt.Errorf("fakexmpp: want a stream header, got %q", it.Raw)
	}
	return c.Send(Header(id) + features)
}

// Echo is a handler that opens the stream with DefaultFeatures, answers
// every element by sending it back, restarts when the client does and
// closes when the client closes.
func Echo(c *Conn) {
	if err := c.Open("s1", DefaultFeatures); err != nil {
		return
	}
	streams := 1
	for {
		it, err := c.Read()
		if err != nil {
			return
		}
		switch it.Kind {
		case xmlsplit.KindOpen:
			streams++
			err = c.Send(Header(fmt.Sprintf("s%d", streams)) + DefaultFeatures)
		case xmlsplit.KindClose:
			_ = c.Send("</stream:stream>")
			return
		default:
			err = c.Send(it.Raw)
		}
		if err != nil {
			return
		}
	}
}

// Silent returns a handler that reads the client's stream header, then
// tells reached (once per connection: give it room for as many as the
// test makes) and answers nothing, however long the client waits, until
// the client goes: a server that hangs in the middle of an open.
func Silent(reached chan<- struct{}) func(*Conn) {
	return func(c *Conn) {
		if _, err := c.Read(); err != nil {
			return
		}
		reached <- struct{}{}
		_ = c.SetReadDeadline(time.Time{})
		_, _ = io.Copy(io.Discard, c.Conn)
	}
}

// IsClosed reports whether err means the connection is gone.
func IsClosed(err error) bool {
	return err != nil && (errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "EOF") || strings.Contains(err.Error(), "reset"))
}
