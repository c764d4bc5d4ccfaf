package main

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// OriginAllowed says whether a browser request with the given Origin header
// may connect; host is the request's Host header.
//
// A request without an Origin is allowed: browsers always send one on
// WebSocket handshakes and cross-origin POSTs, so its absence means a
// client that cannot be the tool of a cross-site attack. A same-origin
// request (the Origin's host:port equals host) is allowed too, so that the
// bridge's own pages keep working whatever the list says — but only when
// host is one the bridge knows for its own (ownHost): a Host header alone
// proves nothing, since a page whose name an attacker rebinds to the
// bridge's address (DNS rebinding) is same-origin with itself. Otherwise the
// Origin must equal an entry of Origins, comparing scheme and host without
// regard to case and with the scheme's default port made explicit or not
// alike; "*" allows any Origin, even "null".
func (c *Config) OriginAllowed(origin, host string) bool {
	if origin == "" {
		return true
	}
	if slices.Contains(c.Origins, "*") {
		return true
	}
	canon, err := canonicalOrigin(origin)
	if err != nil {
		return false
	}
	scheme, hostport, _ := strings.Cut(canon, "://")
	if host != "" && c.ownHost(host) && hostport == canonicalHostPort(scheme, host) {
		return true
	}
	for _, o := range c.Origins {
		if allowed, err := canonicalOrigin(o); err == nil && allowed == canon {
			return true
		}
	}
	return false
}

// canonicalOrigin checks a serialized origin, scheme://host[:port], and
// returns it with scheme and host lowercased and the scheme's default port
// left out, which is how browsers send it.
func canonicalOrigin(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("%q is not an origin (scheme://host[:port])", s)
	}
	switch {
	case u.User != nil:
		return "", fmt.Errorf("%q is not an origin: it has user information", s)
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery || strings.HasSuffix(s, "#"):
		return "", fmt.Errorf("%q is not an origin: it has a path, query or fragment (not even a / may follow the host)", s)
	case strings.Contains(u.Host, "*"):
		return "", fmt.Errorf("%q is not an origin: only \"*\" on its own is a wildcard", s)
	case u.Hostname() == "":
		return "", fmt.Errorf("%q is not an origin: it has no host", s)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("%q is not an origin: port %q is not a number from 1 to 65535", s, p)
		}
	}
	scheme := strings.ToLower(u.Scheme)
	return scheme + "://" + canonicalHostPort(scheme, u.Host), nil
}

// canonicalHostPort lowercases a host[:port] and drops the port if it is
// the default one for scheme.
func canonicalHostPort(scheme, hostport string) string {
	hostport = strings.ToLower(hostport)
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return hostport // no port
	}
	switch {
	case port == "80" && (scheme == "http" || scheme == "ws"),
		port == "443" && (scheme == "https" || scheme == "wss"):
		if strings.Contains(host, ":") {
			return "[" + host + "]"
		}
		return host
	}
	return net.JoinHostPort(host, port)
}

// ownHost reports whether a request's Host names the bridge itself, so
// that a page of that origin is the bridge's own: an IP address or
// localhost, which no DNS answer can give an attacker's page, or the host
// of public_url. Any other name must be listed in allowed_origins.
func (c *Config) ownHost(hostport string) bool {
	host := strings.ToLower(hostport)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.Trim(host, "[]"), ".")
	if host == "localhost" || net.ParseIP(host) != nil {
		return true
	}
	if c.PublicURL == "" {
		return false
	}
	u, err := url.Parse(c.PublicURL)
	return err == nil && strings.EqualFold(u.Hostname(), host)
}
