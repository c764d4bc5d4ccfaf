package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/xmppbridge/xmppbridge/internal/testcert"
)

// A reload takes a renewed pair from the same files, and keeps the pair in
// use when the files do not hold a good one.
func TestListenerCertReload(t *testing.T) {
	dir := t.TempDir()
	first := testcert.New(t, "chat.example.com")
	certFile, keyFile := first.Write(t, dir, "listener")
	cfg, err := Parse(filepath.Join(dir, "xmppbridge.toml"), []byte("tls_cert_file = \"listener.pem\"\ntls_key_file = \"listener-key.pem\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	c := newListenerCert(&cfg)
	serves := func(want testcert.Cert) {
		t.Helper()
		got, err := c.tlsConfig().GetCertificate(nil)
		if err != nil || !bytes.Equal(got.Certificate[0], want.TLS.Certificate[0]) {
			t.Fatalf("GetCertificate = %v, %v; want the certificate for %s", got, err, want.Leaf.Subject)
		}
	}
	serves(first)

	renewed := testcert.New(t, "chat.example.com")
	renewed.Write(t, dir, "listener")
	if err := c.reload(); err != nil {
		t.Fatal(err)
	}
	serves(renewed)

	tests := []struct {
		name       string
		cert, key  []byte
		wantErrSub string
	}{
		{"key of another certificate", first.CertPEM, renewed.KeyPEM, "private key does not match"},
		{"half-written certificate", renewed.CertPEM[:100], renewed.KeyPEM, "failed to find any PEM data"},
		{"no key", renewed.CertPEM, nil, "failed to find any PEM data in key input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(certFile, tt.cert, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(keyFile, tt.key, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := c.reload(); err == nil || !bytes.Contains([]byte(err.Error()), []byte(tt.wantErrSub)) {
				t.Errorf("reload = %v, want an error with %q", err, tt.wantErrSub)
			}
			serves(renewed)
		})
	}
}

// With tls_cert_file and tls_key_file the listener serves https:// and
// wss:// itself, and SIGHUP gives new connections the renewed certificate.
func TestRunTLS(t *testing.T) {
	dir := t.TempDir()
	first := testcert.New(t, "127.0.0.1")
	certFile, keyFile := first.Write(t, dir, "listener")
	addr, _ := startDaemonConfig(t, fmt.Sprintf("tls_cert_file = %q\ntls_key_file = %q\n", certFile, keyFile))

	renewed := testcert.New(t, "127.0.0.1")
	roots := first.Pool()
	roots.AddCert(renewed.Leaf)
	tlsCfg := &tls.Config{RootCAs: roots}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg.Clone(), ForceAttemptHTTP2: true}}
	served := func() *x509.Certificate {
		t.Helper()
		// A new connection each time, to see what a new client gets.
		client.CloseIdleConnections()
		res, err := client.Get("https://" + addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.ProtoMajor != 2 {
			t.Fatalf("GET /healthz over TLS: %s %s", res.Proto, res.Status)
		}
		return res.TLS.PeerCertificates[0]
	}
	if !served().Equal(first.Leaf) {
		t.Fatal("the listener does not serve tls_cert_file")
	}

	d := websocket.Dialer{TLSClientConfig: tlsCfg.Clone(), Subprotocols: []string{"xmpp"}}
	ws, res, err := d.Dial("wss://"+addr+"/xmpp-websocket", nil)
	if err != nil {
		t.Fatalf("wss:// handshake: %v (%v)", err, res)
	}
	ws.Close()

	renewed.Write(t, dir, "listener")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !served().Equal(renewed.Leaf) {
		if time.Now().After(deadline) {
			t.Fatal("still the first certificate after SIGHUP")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A bad pair at the next SIGHUP leaves the renewed one, and the
	// daemon, as they were.
	if err := os.WriteFile(keyFile, []byte("not a key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !served().Equal(renewed.Leaf) {
		t.Fatal("a bad pair replaced the certificate")
	}
}
