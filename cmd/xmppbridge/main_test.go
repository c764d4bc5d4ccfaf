package main

import (
	"context"
	"fmt"
	"io"
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
	path := filepath.Join(t.TempDir(), "xmppbridge.toml")
	cfg := fmt.Sprintf("shutdown_timeout = \"5s\"\nallow_any_domain = false\n[bosh]\npath = \"/bosh\"\n[domain.\"localhost\"]\naddress = %q\nsecurity = \"plaintext\"\n", up.Addr)
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-config", path, "-listen", "127.0.0.1:0"}, ready) }()
	var url string
	select {
	case addr := <-ready:
		url = "http://" + addr + "/bosh"
	case err := <-done:
		t.Fatalf("run: %v", err)
	}
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
	cancel()
	select {
	case got := <-held:
		if !strings.Contains(got, "condition='system-shutdown'") {
			t.Fatalf("held request got %s", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the held request was not answered")
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return")
	}
}
