//go:build integration

package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xmppbridge/xmppbridge/internal/testbed"
)

// startDaemon runs the daemon as main does, with a configuration file for
// the test Prosody, and returns its WebSocket URL and a function that sends
// it the shutdown signal and waits for run to return.
func startDaemon(t *testing.T, p *testbed.Prosody) (url string, stop func() error) {
	t.Helper()
	cfg := fmt.Sprintf(`
log_level = "debug"
allow_any_domain = false
shutdown_timeout = "5s"

[domain.%q]
address = %q
security = "starttls"
ca_file = %q
`, p.Domain, p.C2SAddr, p.CAFile)
	path := filepath.Join(t.TempDir(), "xmppbridge.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-config", path, "-listen", "127.0.0.1:0"}, ready) }()
	select {
	case addr := <-ready:
		url = "ws://" + addr + "/xmpp-websocket"
	case err := <-done:
		cancel()
		t.Fatalf("run: %v", err)
	}
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			return fmt.Errorf("run did not return 15 s after the signal")
		}
	}
	t.Cleanup(func() { stop() })
	return url, stop
}

type wsClient struct {
	t  *testing.T
	ws *websocket.Conn
}

func dialWS(t *testing.T, url string) *wsClient {
	t.Helper()
	ws, _, err := (&websocket.Dialer{Subprotocols: []string{"xmpp"}}).Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return &wsClient{t, ws}
}

func (c *wsClient) send(s string) {
	c.t.Helper()
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// until reads messages until one contains want, and returns it.
func (c *wsClient) until(want string) string {
	c.t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			c.t.Fatalf("waiting for %q: %v", want, err)
		}
		if strings.Contains(string(b), want) {
			return string(b)
		}
	}
}

func (c *wsClient) closeCode() int {
	c.t.Helper()
	c.ws.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		if _, _, err := c.ws.ReadMessage(); err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				return ce.Code
			}
			c.t.Fatalf("want a close frame, got %v", err)
		}
	}
}

const openLocalhost = `<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="localhost" version="1.0"/>`

// TestDaemon logs in through the daemon by hand (SASL, restart, bind), then
// sends it the shutdown signal: the browser must get system-shutdown and a
// proper close, and run must return.
func TestDaemon(t *testing.T) {
	p := testbed.Start(t)
	url, stop := startDaemon(t, p)
	c := dialWS(t, url)

	c.send(openLocalhost)
	c.until("<open ")
	feat := c.until("<stream:features")
	if strings.Contains(feat, "starttls") {
		t.Fatalf("STARTTLS offered to the browser: %s", feat)
	}
	auth := base64.StdEncoding.EncodeToString([]byte("\x00alice\x00" + testbed.Password))
	c.send(`<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">` + auth + `</auth>`)
	c.until("<success")
	c.send(openLocalhost)
	c.until("<open ")
	c.until("urn:ietf:params:xml:ns:xmpp-bind")
	c.send(`<iq xmlns="jabber:client" type="set" id="b1"><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>daemon-test</resource></bind></iq>`)
	if got := c.until("<iq "); !strings.Contains(got, "alice@localhost/daemon-test") {
		t.Fatalf("bind result %s", got)
	}

	idle := dialWS(t, url) // connected, stream not yet opened

	errc := make(chan error, 1)
	go func() { errc <- stop() }()
	for _, cl := range []*wsClient{c, idle} {
		cl.until("<system-shutdown ")
		cl.until("<close ")
		if code := cl.closeCode(); code != websocket.CloseGoingAway {
			t.Fatalf("close code %d, want 1001", code)
		}
	}
	if err := <-errc; err != nil {
		t.Fatalf("run: %v", err)
	}
}

func TestDaemonRefusesOtherDomains(t *testing.T) {
	p := testbed.Start(t)
	url, _ := startDaemon(t, p)
	c := dialWS(t, url)
	c.send(`<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to="elsewhere.example" version="1.0"/>`)
	c.until("<open ")
	c.until("<host-unknown ")
	c.until("<close ")
	if code := c.closeCode(); code != websocket.ClosePolicyViolation {
		t.Fatalf("close code %d, want 1008", code)
	}
}

func TestDaemonUntrustedCertificate(t *testing.T) {
	p := testbed.Start(t)
	cfg := fmt.Sprintf("[domain.%q]\naddress = %q\n", p.Domain, p.C2SAddr) // system roots: the self-signed cert is not trusted
	path := filepath.Join(t.TempDir(), "x.toml")
	os.WriteFile(path, []byte(cfg), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-config", path, "-listen", "127.0.0.1:0"}, ready) }()
	c := dialWS(t, "ws://"+<-ready+"/xmpp-websocket")
	c.send(openLocalhost)
	c.until("<open ")
	c.until("<remote-connection-failed ")
	if code := c.closeCode(); code != websocket.CloseInternalServerErr {
		t.Fatalf("close code %d, want 1011", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
