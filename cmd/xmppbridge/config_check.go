package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/xmppbridge/xmppbridge/internal/clientip"
	"github.com/xmppbridge/xmppbridge/internal/cluster"
	"github.com/xmppbridge/xmppbridge/internal/discovery"
)

// Bounds on values, beyond "greater than zero".
const (
	minStanzaBytes = 1 << 10
	maxStanzaBytes = 16 << 20

	maxBOSHWait     = 10 * time.Minute
	maxBOSHHold     = 8
	maxBOSHRequests = 16
	maxBOSHPeriod   = time.Hour // inactivity and max_pause
	maxBOSHBody     = 64 << 20
	// boshWrapperBytes is room for the <body/> wrapper around a largest
	// stanza.
	boshWrapperBytes = 1 << 10

	maxJSONPeriod = time.Hour
)

// ownPaths are the URL paths the daemon serves itself, which no endpoint's
// path may take: path → what is there.
var ownPaths = map[string]string{
	healthzPath:                "liveness endpoint",
	readyzPath:                 "readiness endpoint",
	discovery.HostMetaPath:     "XEP-0156 discovery",
	discovery.HostMetaJSONPath: "XEP-0156 discovery",
}

// validate checks c, whose defaults must already be filled in, and
// prepares it for use: it lowercases the domain keys and reads the CA
// files. The error is a *ConfigError listing every problem.
func (c *Config) validate() error {
	if p := c.check(); len(p) > 0 {
		return &ConfigError{Problems: p}
	}
	return nil
}

// check is validate returning the problems themselves.
func (c *Config) check() []ConfigProblem {
	var probs []ConfigProblem
	bad := func(key toml.Key, format string, args ...any) {
		probs = append(probs, ConfigProblem{Key: key.String(), Msg: fmt.Sprintf(format, args...)})
	}

	if err := checkHostPort(c.Listen, true); err != nil {
		bad(toml.Key{"listen"}, "%v", err)
	}
	c.listenCert = nil
	switch cert, key := c.TLSCertFile, c.TLSKeyFile; {
	case cert == "" && key != "":
		bad(toml.Key{"tls_cert_file"}, "needed with tls_key_file")
	case cert != "" && key == "":
		bad(toml.Key{"tls_key_file"}, "needed with tls_cert_file")
	case cert != "":
		pair, err := loadKeyPair(cert, key)
		if err != nil {
			bad(toml.Key{"tls_cert_file"}, "%v", err)
		}
		c.listenCert = pair
	}
	for _, s := range c.TrustedProxies {
		if _, err := clientip.ParseProxies([]string{s}); err != nil {
			bad(toml.Key{"trusted_proxies"}, "%s", strings.TrimPrefix(err.Error(), "clientip: "))
		}
	}
	if c.ProxyProtocol && len(c.TrustedProxies) == 0 {
		bad(toml.Key{"proxy_protocol"}, "needs trusted_proxies: the header is believed only from them")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad(toml.Key{"log_level"}, "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	for _, o := range c.Origins {
		if o == "*" {
			continue
		}
		if _, err := canonicalOrigin(o); err != nil {
			bad(toml.Key{"allowed_origins"}, "%v", err)
		}
	}

	if c.PublicURL != "" {
		if _, err := parsePublicURL(c.PublicURL); err != nil {
			bad(toml.Key{"public_url"}, "%v", err)
		}
	}
	switch p := c.WebSocket.Path; {
	case !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?#"):
		bad(toml.Key{"websocket", "path"}, "%q is not a URL path starting with /", p)
	case ownPaths[p] != "":
		bad(toml.Key{"websocket", "path"}, "%q is the daemon's own %s", p, ownPaths[p])
	}
	positive := func(key toml.Key, d Duration) {
		if d.Duration <= 0 {
			bad(key, "must be greater than zero")
		}
	}
	positive(toml.Key{"websocket", "ping_interval"}, c.WebSocket.PingInterval)
	positive(toml.Key{"websocket", "write_timeout"}, c.WebSocket.WriteTimeout)
	positive(toml.Key{"shutdown_timeout"}, c.ShutdownTimeout)
	for key, u := range map[string]string{"websocket": c.WebSocket.DrainURL, "bosh": c.BOSH.DrainURL} {
		if u == "" {
			continue
		}
		if pu, err := url.Parse(u); err != nil || !pu.IsAbs() || pu.Host == "" {
			bad(toml.Key{key, "drain_url"}, "%q is not an absolute URL", u)
		}
	}
	if c.LameDuck.Duration < 0 {
		bad(toml.Key{"lame_duck"}, "must not be negative")
	}
	atLeastSecond := func(key toml.Key, d Duration) {
		if d.Duration < time.Second {
			bad(key, "must be at least 1s")
		}
	}
	if addr := c.Metrics.Addr(); addr != "" {
		if err := checkHostPort(addr, true); err != nil {
			bad(toml.Key{"metrics", "listen"}, "%v (or \"off\")", err)
		} else if _, port, _ := net.SplitHostPort(addr); addr == c.Listen && port != "0" {
			bad(toml.Key{"metrics", "listen"}, "%q is the listen address too: metrics need a listener of their own", addr)
		}
	}
	atLeastSecond(toml.Key{"upstream", "keepalive"}, c.Upstream.Keepalive)
	atLeastSecond(toml.Key{"upstream", "keepalive_timeout"}, c.Upstream.KeepaliveTimeout)
	probs = append(probs, c.Cluster.check()...)
	probs = append(probs, c.BOSH.check(c.WebSocket.Path, c.Limits.MaxStanzaBytes)...)
	probs = append(probs, c.JSON.check(c.WebSocket.Path, c.BOSH.Path)...)

	if n := c.Limits.MaxStanzaBytes; n < minStanzaBytes || n > maxStanzaBytes {
		bad(toml.Key{"limits", "max_stanza_bytes"}, "%d is not between %d and %d", n, minStanzaBytes, maxStanzaBytes)
	}
	if c.Limits.MaxSessions <= 0 {
		bad(toml.Key{"limits", "max_sessions"}, "must be greater than zero")
	}
	if n := c.Limits.QueueBytes; n <= 0 {
		bad(toml.Key{"limits", "queue_bytes"}, "must be greater than zero")
	} else if n < c.Limits.MaxStanzaBytes {
		// A queue that cannot hold one largest stanza would end the
		// session on the first big vCard.
		bad(toml.Key{"limits", "queue_bytes"}, "%d is smaller than limits.max_stanza_bytes (%d)", n, c.Limits.MaxStanzaBytes)
	}

	probs = append(probs, c.Limits.checkAbuse()...)

	var cas caFiles
	loadCA := func(key toml.Key, path string) *x509.CertPool {
		pool, err := cas.load(path)
		if err != nil {
			bad(key, "%v", err)
		}
		return pool
	}
	c.rootCAs = nil
	if c.TLS.CAFile != "" {
		c.rootCAs = loadCA(toml.Key{"tls", "ca_file"}, c.TLS.CAFile)
	}

	// Sorted so that the problems come out in the same order every time.
	var domains map[string]DomainConfig
	written := make(map[string]string) // lowercase domain → its key as written
	c.domainRootCAs = nil
	for _, name := range slices.Sorted(maps.Keys(c.Domains)) {
		d := c.Domains[name]
		key := toml.Key{"domain", name}
		lower := strings.ToLower(name)
		domainErr := checkDomain(lower)
		if domainErr != nil {
			bad(key, "%v", domainErr)
		}
		if other, dup := written[lower]; dup {
			bad(key, "same domain as %s (domain names are not case-sensitive)", toml.Key{"domain", other})
		}
		written[lower] = name
		if domains == nil {
			domains = make(map[string]DomainConfig, len(c.Domains))
		}
		domains[lower] = d

		switch d.Security {
		case SecurityStartTLS, SecurityTLS:
		case SecurityPlaintext:
			if d.Address == "" {
				bad(append(key, "security"), "plaintext needs an address on a loopback host (127.0.0.0/8, ::1 or localhost); an SRV lookup could lead anywhere")
			} else if host, _, err := net.SplitHostPort(d.Address); err == nil && !isLoopback(host) {
				bad(append(key, "security"), "plaintext is allowed only to a loopback address (127.0.0.0/8, ::1 or localhost), not %q", d.Address)
			}
		default:
			bad(append(key, "security"), "%q is not one of starttls, tls, plaintext", d.Security)
		}
		if d.Address != "" {
			if err := checkHostPort(d.Address, false); err != nil {
				bad(append(key, "address"), "%v", err)
			}
		}
		// Empty means the domain itself. An invalid domain gives an
		// invalid default server_name, and one problem is enough.
		if d.ServerName != "" && domainErr == nil {
			if err := checkServerName(d.ServerName); err != nil {
				bad(append(key, "server_name"), "%v", err)
			}
		}
		if d.CAFile != "" {
			if c.domainRootCAs == nil {
				c.domainRootCAs = make(map[string]*x509.CertPool)
			}
			c.domainRootCAs[lower] = loadCA(append(key, "ca_file"), d.CAFile)
		}
	}
	c.Domains = domains

	if c.AllowAnyDomain != nil && !*c.AllowAnyDomain && len(c.Domains) == 0 {
		bad(toml.Key{"allow_any_domain"}, "false with no [domain] table refuses every domain")
	}
	return probs
}

// check validates the [bosh] table, whose defaults must be filled in.
func (b *BOSHConfig) check(wsPath string, maxStanza int) []ConfigProblem {
	var probs []ConfigProblem
	bad := func(key string, format string, args ...any) {
		probs = append(probs, ConfigProblem{Key: toml.Key{"bosh", key}.String(), Msg: fmt.Sprintf(format, args...)})
	}
	switch p := b.Path; {
	case !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?#"):
		bad("path", "%q is not a URL path starting with /", p)
	case p == wsPath:
		bad("path", "%q is websocket.path too", p)
	case ownPaths[p] != "":
		bad("path", "%q is the daemon's own %s", p, ownPaths[p])
	}
	// seconds checks a duration BOSH states in whole seconds.
	seconds := func(key string, d Duration, least, most time.Duration) bool {
		switch {
		case d.Duration < least || d.Duration > most:
			bad(key, "%v is not between %v and %v", d.Duration, least, most)
		case d.Duration%time.Second != 0:
			bad(key, "%v is not a whole number of seconds, as BOSH states it", d.Duration)
		default:
			return true
		}
		return false
	}
	seconds("max_wait", b.MaxWait, time.Second, maxBOSHWait)
	inactivityOK := seconds("inactivity", b.Inactivity, time.Second, maxBOSHPeriod)
	if seconds("polling", b.Polling, time.Second, maxBOSHPeriod) && inactivityOK && b.Polling.Duration >= b.Inactivity.Duration {
		bad("polling", "%v is not shorter than bosh.inactivity (%v)", b.Polling.Duration, b.Inactivity.Duration)
	}
	seconds("max_pause", b.MaxPause, time.Second, maxBOSHPeriod)
	// A bad max_hold or max_stanza_bytes is reported under its own key;
	// what is derived from it would only repeat the problem.
	if n := b.MaxHold; n < 1 || n > maxBOSHHold {
		bad("max_hold", "%d is not between 1 and %d", n, maxBOSHHold)
	} else if n := b.Requests; n <= b.MaxHold || n > maxBOSHRequests {
		bad("requests", "%d is not between bosh.max_hold + 1 (%d) and %d", n, b.MaxHold+1, maxBOSHRequests)
	}
	if n, least := b.MaxBodyBytes, maxStanza+boshWrapperBytes; maxStanza >= minStanzaBytes && maxStanza <= maxStanzaBytes && (n < least || n > maxBOSHBody) {
		bad("max_body_bytes", "%d is not between limits.max_stanza_bytes + %d (%d) and %d", n, boshWrapperBytes, least, maxBOSHBody)
	}
	if b.WriteTimeout.Duration <= 0 {
		bad("write_timeout", "must be greater than zero")
	}
	if b.CORSMaxAge.Duration < time.Second {
		bad("cors_max_age", "%v is less than a second", b.CORSMaxAge.Duration)
	}
	return probs
}

// check validates the [json] table, whose defaults must be filled in.
func (j *JSONConfig) check(otherPaths ...string) []ConfigProblem {
	var probs []ConfigProblem
	bad := func(key string, format string, args ...any) {
		probs = append(probs, ConfigProblem{Key: toml.Key{"json", key}.String(), Msg: fmt.Sprintf(format, args...)})
	}
	switch p := j.Path; {
	case !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?#") || p == "/" || strings.HasSuffix(p, "/"):
		bad("path", "%q is not a URL path starting with / and not ending with /", p)
	case slices.Contains(otherPaths, p):
		bad("path", "%q is the path of another endpoint", p)
	case ownPaths[p] != "":
		bad("path", "%q is the daemon's own %s", p, ownPaths[p])
	}
	if n := len(j.PrebindSecret); n > 0 && n < 16 {
		bad("prebind_secret", "is %d characters long; at least 16 are needed", n)
	}
	if n := len(j.ResumeKey); n > 0 && n < 32 {
		bad("resume_key", "is %d characters long; at least 32 are needed", n)
	}
	for _, d := range []struct {
		key  string
		v    Duration
		most time.Duration
	}{
		{"token_ttl", j.TokenTTL, maxJSONPeriod},
		{"max_wait", j.MaxWait, maxBOSHWait},
		{"inactivity", j.Inactivity, maxJSONPeriod},
		{"heartbeat", j.Heartbeat, maxJSONPeriod},
		{"resume_window", j.ResumeWindow, maxJSONPeriod},
	} {
		if d.v.Duration < time.Second || d.v.Duration > d.most {
			bad(d.key, "%v is not between 1s and %v", d.v.Duration, d.most)
		}
	}
	return probs
}

// checkHostPort checks a host:port address. The listen address may leave
// the host empty (all interfaces) and use port 0 (any free port); an
// upstream address may not.
func checkHostPort(addr string, listen bool) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if host == "" && !listen {
		return fmt.Errorf("%q has no host", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || (n == 0 && !listen) {
		return fmt.Errorf("%q: port %q is not a number from 1 to 65535", addr, port)
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkDomain checks an XMPP domainpart, already lowercased: a DNS name in
// ASCII, an IPv4 address, or an IPv6 address in brackets (RFC 6120 §3.2.1).
func checkDomain(s string) error {
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		if ip := net.ParseIP(s[1 : len(s)-1]); ip != nil && ip.To4() == nil {
			return nil
		}
		return fmt.Errorf("%q is not an IPv6 address in brackets", s)
	}
	if strings.Contains(s, ":") {
		return fmt.Errorf("%q is not a domain name (an IPv6 address is written in brackets)", s)
	}
	if ip := net.ParseIP(s); ip != nil {
		return nil
	}
	if err := checkDNSName(s); err != nil {
		return fmt.Errorf("%q is not a domain name: %w", s, err)
	}
	return nil
}

// checkServerName checks a name to verify a certificate against: a DNS
// name or an IP address.
func checkServerName(s string) error {
	if net.ParseIP(s) != nil {
		return nil
	}
	if err := checkDNSName(strings.ToLower(s)); err != nil {
		return fmt.Errorf("%q is not a DNS name or IP address: %w", s, err)
	}
	return nil
}

// checkDNSName checks a lowercase DNS name. Internationalized names must be
// written in their ASCII (xn--) form, which is what DNS and certificates
// carry.
func checkDNSName(s string) error {
	switch {
	case s == "":
		return errors.New("empty")
	case len(s) > 253:
		return errors.New("longer than 253 bytes")
	case strings.HasSuffix(s, "."):
		return errors.New("ends with a dot")
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("label %q is not 1 to 63 bytes long", label)
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("label %q starts or ends with a hyphen", label)
		}
		for _, r := range label {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
			case r > 0x7f:
				return errors.New("not ASCII; write an internationalized name in its xn-- form")
			default:
				return fmt.Errorf("label %q holds %q", label, r)
			}
		}
	}
	return nil
}

// check validates the [cluster] table.
func (cl *ClusterConfig) check() []ConfigProblem {
	var probs []ConfigProblem
	bad := func(key toml.Key, format string, args ...any) {
		probs = append(probs, ConfigProblem{Key: key.String(), Msg: fmt.Sprintf(format, args...)})
	}
	if cl.Node == "" {
		if len(cl.Peers) > 0 {
			bad(toml.Key{"cluster", "node"}, "needed with cluster.peers: this bridge's own name")
		}
		return probs
	}
	if err := cluster.CheckNode(cl.Node); err != nil {
		bad(toml.Key{"cluster", "node"}, "%s", strings.TrimPrefix(err.Error(), "cluster: "))
	}
	for _, name := range slices.Sorted(maps.Keys(cl.Peers)) {
		key := toml.Key{"cluster", "peers", name}
		if err := cluster.CheckNode(name); err != nil {
			bad(key, "%s", strings.TrimPrefix(err.Error(), "cluster: "))
		}
		if _, err := cluster.ParsePeerURL(cl.Peers[name]); err != nil {
			bad(key, "%v", err)
		}
	}
	return probs
}
