package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pires/go-proxyproto"
)

// syncBuffer is a log the daemon's goroutines may write at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// captureLog sends the daemon's log to a buffer for the rest of the test.
func captureLog(t *testing.T) *syncBuffer {
	t.Helper()
	buf := &syncBuffer{}
	old := logOutput
	logOutput = io.MultiWriter(buf, old)
	t.Cleanup(func() { logOutput = old })
	return buf
}

// refusedWebSocket sends a GET that is no WebSocket handshake to the
// WebSocket endpoint, after prefix (a PROXY protocol header, or nothing),
// with the headers given, so that the daemon logs the refusal with the
// address it took for the client's.
func refusedWebSocket(t *testing.T, addr string, prefix []byte, headers ...string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := "GET /xmpp-websocket HTTP/1.1\r\nHost: bridge\r\nConnection: close\r\n" + strings.Join(headers, "") + "\r\n"
	if _, err := c.Write(append(prefix, req...)); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode < 400 {
		t.Fatalf("GET %s", res.Status)
	}
}

// waitLog waits until the log has a line with every part.
func waitLog(t *testing.T, log *syncBuffer, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for line := range strings.Lines(log.String()) {
			found := true
			for _, p := range parts {
				found = found && strings.Contains(line, p)
			}
			if found {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q in:\n%s", parts, log.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The daemon logs the client a trusted proxy names, and the peer itself
// when the peer is not trusted.
func TestRunRealClientAddress(t *testing.T) {
	log := captureLog(t)
	trusting, _ := startDaemonConfig(t, `trusted_proxies = ["127.0.0.0/8"]`)
	refusedWebSocket(t, trusting, nil, "X-Forwarded-For: 198.51.100.7\r\n")
	waitLog(t, log, "websocket refused", "remote=198.51.100.7:0")

	untrusting, _ := startDaemonConfig(t, `trusted_proxies = ["10.0.0.0/8"]`)
	refusedWebSocket(t, untrusting, nil, "X-Forwarded-For: 198.51.100.8\r\n")
	waitLog(t, log, "websocket refused", "remote=127.0.0.1:")
	if strings.Contains(log.String(), "198.51.100.8") {
		t.Errorf("the header of a peer not trusted was believed:\n%s", log)
	}
}

// With proxy_protocol, a trusted proxy's PROXY header, version 1 or 2,
// names the client.
func TestRunProxyProtocol(t *testing.T) {
	log := captureLog(t)
	addr, _ := startDaemonConfig(t, "proxy_protocol = true\ntrusted_proxies = [\"127.0.0.1\"]\n")
	for _, tt := range []struct {
		version byte
		client  string
	}{
		{1, "198.51.100.21:56324"},
		{2, "198.51.100.22:40000"},
		{2, "[2001:db8::23]:40000"},
	} {
		t.Run(fmt.Sprintf("v%d %s", tt.version, tt.client), func(t *testing.T) {
			src, err := net.ResolveTCPAddr("tcp", tt.client)
			if err != nil {
				t.Fatal(err)
			}
			dst, _ := net.ResolveTCPAddr("tcp", addr)
			header, err := proxyproto.HeaderProxyFromAddrs(tt.version, src, dst).Format()
			if err != nil {
				t.Fatal(err)
			}
			refusedWebSocket(t, addr, header)
			waitLog(t, log, "websocket refused", "remote="+tt.client)
		})
	}
}

// The JSON API takes passwords only over TLS or from loopback; behind a
// trusted proxy, that is the client's own connection as the proxy says.
func TestRunPasswordRule(t *testing.T) {
	const secret = "0123456789abcdef"
	trusting, _ := startDaemonConfig(t, "trusted_proxies = [\"127.0.0.1\"]\n[json]\nprebind_secret = \""+secret+"\"\n")
	untrusting, _ := startDaemonConfig(t, "trusted_proxies = [\"10.0.0.0/8\"]\n[json]\nprebind_secret = \""+secret+"\"\n")
	tests := []struct {
		name    string
		addr    string
		headers map[string]string
		code    int // 403: refused for want of TLS; 400: let through to the body
	}{
		{"loopback peer", untrusting, nil, http.StatusBadRequest},
		{"remote client over http", trusting, map[string]string{"X-Forwarded-For": "198.51.100.7"}, http.StatusForbidden},
		{"remote client over https", trusting, map[string]string{"X-Forwarded-For": "198.51.100.7", "X-Forwarded-Proto": "https"}, http.StatusBadRequest},
		{"remote client over https, Forwarded", trusting, map[string]string{"Forwarded": "for=198.51.100.7;proto=https"}, http.StatusBadRequest},
		{"headers of a peer not trusted", untrusting, map[string]string{"X-Forwarded-For": "198.51.100.7"}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", "http://"+tt.addr+"/json/prebind", strings.NewReader("{}"))
			req.Header.Set("Authorization", "Bearer "+secret)
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.code {
				t.Errorf("POST /json/prebind: %s %s, want %d", res.Status, b, tt.code)
			}
		})
	}
}
