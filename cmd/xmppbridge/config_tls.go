package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// resolvePaths makes relative certificate and key file paths relative to dir, the directory
// of the configuration file, rather than to wherever the daemon was
// started.
func (c *Config) resolvePaths(dir string) {
	fromDir := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	c.TLS.CAFile = fromDir(c.TLS.CAFile)
	c.TLSCertFile = fromDir(c.TLSCertFile)
	c.TLSKeyFile = fromDir(c.TLSKeyFile)
	for name, d := range c.Domains {
		d.CAFile = fromDir(d.CAFile)
		c.Domains[name] = d
	}
}

// TLSFor builds the TLS settings for domain's upstream link: roots from the
// domain's ca_file, else tls.ca_file, else the system roots (RootCAs nil);
// ServerName from the domain's server_name, else the domain; TLS 1.2 at
// least. It reads no files: the CA files were read by Load, Parse or
// Default. Each call returns a new *tls.Config the caller may change.
// Whether the domain may be reached at all is Upstream's question.
func (c *Config) TLSFor(domain string) (*tls.Config, error) {
	domain = strings.ToLower(domain)
	if err := checkDomain(domain); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	serverName, caFile, roots := strings.Trim(domain, "[]"), c.TLS.CAFile, c.rootCAs
	if d, ok := c.Domains[domain]; ok {
		if d.ServerName != "" {
			serverName = d.ServerName
		}
		if d.CAFile != "" {
			caFile, roots = d.CAFile, c.domainRootCAs[domain]
		}
	}
	if caFile != "" && roots == nil {
		return nil, fmt.Errorf("config: CA file %q for %s was never read; build the Config with Load, Parse or Default", caFile, domain)
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		ServerName: serverName,
		RootCAs:    roots,
	}, nil
}

// readCAFile reads a PEM file that must hold at least one certificate.
func readCAFile(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%q holds no PEM certificate", path)
	}
	return pool, nil
}

// caFiles reads CA files for one validation, each file once.
type caFiles map[string]*x509.CertPool // path → pool; nil for a file that failed

// load reads the PEM file at path, or returns the pool read before. A file
// that failed fails only the first time, so that its problem is reported
// once, under the first key that names it.
func (cas *caFiles) load(path string) (*x509.CertPool, error) {
	if pool, ok := (*cas)[path]; ok {
		return pool, nil
	}
	if *cas == nil {
		*cas = make(caFiles)
	}
	pool, err := readCAFile(path)
	(*cas)[path] = pool
	return pool, err
}

// loadKeyPair reads the listener's certificate chain and key, which must
// match.
func loadKeyPair(certFile, keyFile string) (*tls.Certificate, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("%s with %s: %w", certFile, keyFile, err)
	}
	return &pair, nil
}
