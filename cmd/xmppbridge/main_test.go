package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/fakexmpp"
	"github.com/xmppbridge/xmppbridge/internal/xmlsplit"
)

func TestRouteFor(t *testing.T) {
	c, err := Parse("test.toml", []byte("[domain.\"example.com\"]\naddress = \"XMPP.example.com:5222\"\n[domain.\"v6.example\"]\naddress = \"[2001:db8::1]:5222\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	route := routeFor(&c)
	tests := []struct {
		to, host, port string
		want           bool
	}{
		{"example.com", "xmpp.example.com", "5222", true},
		{"EXAMPLE.com", "xmpp.example.com", "5222", true},
		{"example.com", "xmpp.example.com", "5223", false},
		{"example.com", "other.example.com", "5222", false},
		{"v6.example", "2001:db8::1", "5222", true},
		{"example.net", "example.net", "5222", false}, // reached by SRV: no route is known
		{"not a domain", "x", "1", false},
	}
	for _, tt := range tests {
		t.Run(tt.to+"/"+tt.host+":"+tt.port, func(t *testing.T) {
			if got := route(tt.to, tt.host, tt.port); got != tt.want {
				t.Errorf("route(%q, %q, %q) = %v", tt.to, tt.host, tt.port, got)
			}
		})
	}
}

// startDaemonConfig runs the daemon with the configuration cfg and returns
// the address it listens on and a function that sends it the shutdown
// signal and waits for run to return (also called when the test ends).
// Its metrics are off: daemons of tests running at once would all want the
// default address.
func startDaemonConfig(t *testing.T, cfg string) (addr string, stop func() error) {
	t.Helper()
	return startDaemonArgs(t, cfg, "-metrics", "off")
}

// startDaemonArgs is startDaemonConfig with command-line arguments of the
// test's own after -config and -listen.
func startDaemonArgs(t *testing.T, cfg string, args ...string) (addr string, stop func() error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "xmppbridge.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return startDaemonFile(t, path, args...)
}

// startDaemonFile is startDaemonArgs with the configuration file at path.
func startDaemonFile(t *testing.T, path string, args ...string) (addr string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, append([]string{"-config", path, "-listen", "127.0.0.1:0"}, args...), ready) }()
	select {
	case addr = <-ready:
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
	return addr, stop
}

// The daemon mounts BOSH at bosh.path beside the WebSocket endpoint, and
// its drain answers held BOSH requests with system-shutdown.
func TestRunServesBOSH(t *testing.T) {
	// A server that answers nothing, so that requests stay held.
	up := fakexmpp.Start(t, func(c *fakexmpp.Conn) {
		if c.Open("d", fakexmpp.DefaultFeatures) != nil {
			return
		}
		for {
			if it, err := c.Read(); err != nil || it.Kind == xmlsplit.KindClose {
				c.Send("</stream:stream>")
				return
			}
		}
	})
	cfg := fmt.Sprintf("shutdown_timeout = \"5s\"\nallow_any_domain = false\n[bosh]\npath = \"/bosh\"\n[domain.\"localhost\"]\naddress = %q\nsecurity = \"plaintext\"\n", up.Addr)
	addr, stop := startDaemonConfig(t, cfg)
	url := "http://" + addr + "/bosh"
	post := func(body string) string {
		t.Helper()
		res, err := http.Post(url, "text/xml; charset=utf-8", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	const ns = "xmlns='http://jabber.org/protocol/httpbind'"
	if got := post("<body rid='1' to='localhost' ver='1.6' route='xmpp:127.0.0.1:1' " + ns + "/>"); !strings.Contains(got, "condition='host-unknown'") {
		t.Fatalf("a route elsewhere got %s", got)
	}
	created := post(fmt.Sprintf("<body rid='1' to='localhost' ver='1.6' wait='60' hold='1' route='xmpp:%s' %s/>", up.Addr, ns))
	m := regexp.MustCompile(`sid='([0-9a-f]+)'`).FindStringSubmatch(created)
	if m == nil || !strings.Contains(created, "<stream:features") {
		t.Fatalf("session creation got %s", created)
	}
	// A second request releases the first (hold='1'): once the first is
	// answered, the second is held by the handler.
	held := make(chan string, 1)
	go func() { held <- post("<body rid='2' sid='" + m[1] + "' " + ns + "/>") }()
	go func() { held <- post("<body rid='3' sid='" + m[1] + "' " + ns + "><presence/></body>") }()
	if got := <-held; strings.Contains(got, "type=") {
		t.Fatalf("the first request got %s", got)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	select {
	case got := <-held:
		if !strings.Contains(got, "condition='system-shutdown'") {
			t.Fatalf("held request got %s", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the held request was not answered")
	}
	if err := <-stopped; err != nil {
		t.Fatalf("run: %v", err)
	}
}

// /healthz and /readyz are on the main listener; at the shutdown signal
// readiness goes first, and for lame_duck the daemon is not ready but
// still serves.
func TestRunHealth(t *testing.T) {
	up, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	go func() {
		for {
			c, err := up.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	addr, stop := startDaemonConfig(t, fmt.Sprintf("lame_duck = \"3s\"\nshutdown_timeout = \"5s\"\n[domain.\"localhost\"]\naddress = %q\nsecurity = \"plaintext\"\n", up.Addr()))
	base := "http://" + addr
	get := func(path string) (int, string) {
		t.Helper()
		res, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, strings.TrimSpace(string(b))
	}
	for _, tt := range []struct {
		path string
		code int
		body string
	}{
		{"/healthz", 200, `{"status":"up"}`},
		{"/readyz", 200, `{"status":"ready"}`},
	} {
		if code, body := get(tt.path); code != tt.code || body != tt.body {
			t.Errorf("GET %s = %d %s, want %d %s", tt.path, code, body, tt.code, tt.body)
		}
	}

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	// Drain comes first thing after the signal, so the 3 s of the lame
	// duck are ample for these requests on loopback.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := get("/readyz")
		if code == 503 {
			if want := `{"status":"not ready","not_ready":["draining"]}`; body != want {
				t.Errorf("GET /readyz in the lame duck = %s, want %s", body, want)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /readyz still %d %s after the signal", code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("GET /healthz in the lame duck = %d, want 200", code)
	}
	if err := <-stopped; err != nil {
		t.Fatalf("run: %v", err)
	}
}

// XEP-0156 host-meta is on the main listener, beside the demo page, and
// advertises the endpoints below public_url.
func TestRunDiscovery(t *testing.T) {
	addr, _ := startDaemonConfig(t, "public_url = \"https://chat.example.com/xmpp\"\n[bosh]\npath = \"/bosh\"\n")
	for _, tt := range []struct {
		path, contentType, body string
	}{
		{"/.well-known/host-meta.json", "application/json",
			`{"links":[{"rel":"urn:xmpp:alt-connections:websocket","href":"wss://chat.example.com/xmpp/xmpp-websocket"},{"rel":"urn:xmpp:alt-connections:xbosh","href":"https://chat.example.com/xmpp/bosh"}]}`},
		{"/.well-known/host-meta", "application/xrd+xml; charset=utf-8",
			`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
				`<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0"><Link rel="urn:xmpp:alt-connections:websocket" href="wss://chat.example.com/xmpp/xmpp-websocket"></Link><Link rel="urn:xmpp:alt-connections:xbosh" href="https://chat.example.com/xmpp/bosh"></Link></XRD>`},
	} {
		res, err := http.Get("http://" + addr + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != tt.contentType || strings.TrimSpace(string(b)) != tt.body {
			t.Errorf("GET %s = %d %s %s\nwant 200 %s %s", tt.path, res.StatusCode, res.Header.Get("Content-Type"), b, tt.contentType, tt.body)
		}
	}
}
