package main

import (
	"crypto/tls"
	"sync/atomic"
)

// listenerCert is the listener's certificate, which SIGHUP replaces
// without a restart: a renewed pair is read from the same files, and a
// pair that cannot be read leaves the one in use.
type listenerCert struct {
	certFile, keyFile string
	cur               atomic.Pointer[tls.Certificate]
}

// newListenerCert starts with cfg's pair, read by Load.
func newListenerCert(cfg *Config) *listenerCert {
	c := &listenerCert{certFile: cfg.TLSCertFile, keyFile: cfg.TLSKeyFile}
	c.cur.Store(cfg.listenCert)
	return c
}

// reload reads the files again and, if they hold a matching pair, serves
// it to new connections from now on.
func (c *listenerCert) reload() error {
	pair, err := loadKeyPair(c.certFile, c.keyFile)
	if err != nil {
		return err
	}
	c.cur.Store(pair)
	return nil
}

// tlsConfig is the listener's TLS configuration: TLS 1.2 at least, HTTP/2
// and HTTP/1.1 (net/http does not take WebSocket over HTTP/2, so browsers
// open their WebSockets over HTTP/1.1 as before).
func (c *listenerCert) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.cur.Load(), nil
		},
	}
}
