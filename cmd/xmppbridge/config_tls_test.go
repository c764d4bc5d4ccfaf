package main

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"

	"github.com/xmppbridge/xmppbridge/internal/testcert"
)

// writeCA writes a self-signed CA certificate for name into dir and returns
// the file's path and the certificate.
func writeCA(t *testing.T, dir, file, name string) (string, *x509.Certificate) {
	t.Helper()
	c := testcert.New(t, name)
	path := filepath.Join(dir, file)
	if err := os.WriteFile(path, c.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, c.Leaf
}

func TestTLSFor(t *testing.T) {
	dir := t.TempDir()
	globalCA, globalCert := writeCA(t, dir, "global.pem", "xmpp.example.org")
	domainCA, domainCert := writeCA(t, dir, "domain.pem", "xmpp.example.com")
	src := "[tls]\nca_file = \"global.pem\"\n" + // relative: from the file's directory
		"[domain.\"Example.com\"]\nca_file = " + quote(domainCA) + "\nserver_name = \"xmpp.example.com\"\n" +
		"[domain.\"example.net\"]\naddress = \"xmpp.example.net:5222\"\n"
	withCA, err := Parse(filepath.Join(dir, "xmppbridge.toml"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if withCA.TLS.CAFile != globalCA {
		t.Errorf("tls.ca_file = %q, want %q", withCA.TLS.CAFile, globalCA)
	}
	// The pools were read by Parse; TLSFor must not need the files.
	for _, f := range []string{globalCA, domainCA} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name       string
		c          Config
		domain     string
		serverName string
		trusts     *x509.Certificate // nil: RootCAs must be nil (system roots)
		verifyAs   string
	}{
		{"system roots", Default(), "example.com", "example.com", nil, ""},
		{"system roots, domain lowercased", Default(), "EXAMPLE.com", "example.com", nil, ""},
		{"system roots, IPv6 domain", Default(), "[::1]", "::1", nil, ""},
		{"domain's own CA and server name", withCA, "example.com", "xmpp.example.com", domainCert, "xmpp.example.com"},
		{"domain's own CA, other case", withCA, "EXAMPLE.COM", "xmpp.example.com", domainCert, "xmpp.example.com"},
		{"listed domain without CA: global CA", withCA, "example.net", "example.net", globalCert, "xmpp.example.org"},
		{"unlisted domain: global CA", withCA, "example.org", "example.org", globalCert, "xmpp.example.org"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.c.TLSFor(tt.domain)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MinVersion != tls.VersionTLS12 {
				t.Errorf("MinVersion = %x, want TLS 1.2", cfg.MinVersion)
			}
			if cfg.ServerName != tt.serverName {
				t.Errorf("ServerName = %q, want %q", cfg.ServerName, tt.serverName)
			}
			if tt.trusts == nil {
				if cfg.RootCAs != nil {
					t.Error("RootCAs set, want nil (system roots)")
				}
				return
			}
			if cfg.RootCAs == nil {
				t.Fatal("RootCAs nil, want the configured CA")
			}
			if _, err := tt.trusts.Verify(x509.VerifyOptions{Roots: cfg.RootCAs, DNSName: tt.verifyAs}); err != nil {
				t.Errorf("certificate not trusted by RootCAs: %v", err)
			}
			other := domainCert
			if tt.trusts == domainCert {
				other = globalCert
			}
			if _, err := other.Verify(x509.VerifyOptions{Roots: cfg.RootCAs}); err == nil {
				t.Error("RootCAs trusts the other CA too")
			}
		})
	}

	t.Run("each call a new config", func(t *testing.T) {
		a, _ := withCA.TLSFor("example.com")
		a.ServerName = "changed"
		b, _ := withCA.TLSFor("example.com")
		if b.ServerName != "xmpp.example.com" {
			t.Errorf("ServerName = %q after changing an earlier result", b.ServerName)
		}
	})

	errTests := []struct {
		name   string
		c      Config
		domain string
	}{
		{"invalid domain", Default(), "not a domain"},
		{"empty domain", Default(), ""},
		{"global CA never read", Config{TLS: TLSConfig{CAFile: "/some/ca.pem"}}, "example.com"},
		{"domain CA never read", Config{Domains: map[string]DomainConfig{"example.com": {CAFile: "/some/ca.pem"}}}, "example.com"},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			if cfg, err := tt.c.TLSFor(tt.domain); err == nil {
				t.Errorf("TLSFor(%q) = %+v, want an error", tt.domain, cfg)
			}
		})
	}
}

// The domain a browser asks for is untrusted input.
func FuzzUpstream(f *testing.F) {
	for _, s := range []string{"example.com", "EXAMPLE.com", "[::1]", "127.0.0.1", "", "a..b", "xn--bcher-kva.example", "bücher.example"} {
		f.Add(s)
	}
	c := Default()
	f.Fuzz(func(t *testing.T, domain string) {
		d, ok := c.Domain(domain)
		if !ok {
			return
		}
		cfg, err := c.TLSFor(domain)
		if err != nil {
			t.Fatalf("Upstream(%q) allowed it, but TLSFor fails: %v", domain, err)
		}
		if cfg.ServerName != d.ServerName {
			t.Fatalf("Upstream(%q).ServerName = %q, TLSFor's = %q", domain, d.ServerName, cfg.ServerName)
		}
	})
}
