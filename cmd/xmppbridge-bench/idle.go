package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

func idle(args []string) error {
	fs := flag.NewFlagSet("idle", flag.ExitOnError)
	url := fs.String("url", "ws://127.0.0.1:5280/xmpp-websocket", "the bridge's WebSocket URL")
	pid := fs.Int("pid", 0, "the bridge's process id (for /proc)")
	n := fs.Int("n", 2000, "sessions to open (at most 9000: the bridge holds two sockets each)")
	domain := fs.String("domain", "localhost", "XMPP domain to open streams to")
	sources := fs.Int("sources", 8, "local source addresses 127.0.0.2… to spread connections over")
	settle := fs.Duration("settle", 3*time.Second, "wait before the last memory reading")
	timeout := fs.Duration("timeout", 5*time.Minute, "bound on the whole run")
	fs.Parse(args)
	if *pid == 0 {
		return errors.New("-pid is required")
	}
	if *n < 1 || *n > 9000 {
		return errors.New("-n must be 1…9000")
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	before, err := rss(*pid)
	if err != nil {
		return err
	}
	conns := make([]*websocket.Conn, *n)
	var opened atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	sem := make(chan struct{}, 64) // connections in progress at once
	start := time.Now()
	for i := range *n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := openStream(ctx, *url, *domain, net.IPv4(127, 0, 0, byte(2+i%*sources)))
			if err != nil {
				select {
				case errc <- fmt.Errorf("session %d: %w", i, err):
				default:
				}
				return
			}
			conns[i] = c
			if k := opened.Add(1); k%500 == 0 {
				fmt.Fprintf(os.Stderr, "\ropened %d/%d", k, *n)
			}
		}()
	}
	wg.Wait()
	fmt.Fprintf(os.Stderr, "\ropened %d/%d in %v\n", opened.Load(), *n, time.Since(start).Round(time.Millisecond))
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	select {
	case err := <-errc:
		return err
	default:
	}
	time.Sleep(*settle)
	after, err := rss(*pid)
	if err != nil {
		return err
	}
	res := map[string]any{
		"sessions":              *n,
		"bridge_rss_before_kib": before,
		"bridge_rss_after_kib":  after,
		"kib_per_session":       float64(after-before) / float64(*n),
		"go":                    runtime.Version(),
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	return nil
}

// openStream connects from the given source address, opens an XMPP stream
// and reads the bridge's <open/> and the relayed features.
func openStream(ctx context.Context, url, domain string, src net.IP) (*websocket.Conn, error) {
	d := websocket.Dialer{
		Subprotocols:     []string{"xmpp"},
		HandshakeTimeout: 20 * time.Second,
		NetDialContext:   (&net.Dialer{LocalAddr: &net.TCPAddr{IP: src}}).DialContext,
		ReadBufferSize:   512,
		WriteBufferSize:  512,
	}
	c, _, err := d.DialContext(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	c.SetWriteDeadline(time.Now().Add(20 * time.Second))
	if err := c.WriteMessage(websocket.TextMessage, []byte(`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="`+domain+`" version="1.0"/>`)); err != nil {
		c.Close()
		return nil, err
	}
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	for _, want := range []string{"<open ", "<stream:features"} {
		_, b, err := c.ReadMessage()
		if err != nil {
			c.Close()
			return nil, err
		}
		if !strings.HasPrefix(string(b), want) {
			c.Close()
			return nil, fmt.Errorf("got %.80s, want %s…", b, want)
		}
	}
	c.SetReadDeadline(time.Time{})
	return c, nil
}
