//go:build integration

package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/xmppbridge/xmppbridge/internal/testbed"
)

// /readyz follows the configured server: ready while Prosody listens, 503
// naming its domain once Prosody is stopped (within the few seconds a
// round of connection attempts is cached for).
func TestReadyzFollowsServer(t *testing.T) {
	p := testbed.Start(t)
	wsURL, _ := startDaemon(t, p)
	readyz := "http://" + strings.TrimSuffix(strings.TrimPrefix(wsURL, "ws://"), "/xmpp-websocket") + "/readyz"
	get := func() (int, string) {
		t.Helper()
		res, err := http.Get(readyz)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, strings.TrimSpace(string(b))
	}
	if code, body := get(); code != http.StatusOK {
		t.Fatalf("GET /readyz with Prosody up = %d %s", code, body)
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	want := `{"status":"not ready","not_ready":["` + p.Domain + `: server unreachable"]}`
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := get()
		if code == http.StatusServiceUnavailable {
			if body != want {
				t.Errorf("GET /readyz = %s, want %s", body, want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /readyz with Prosody stopped is still %d %s", code, body)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
