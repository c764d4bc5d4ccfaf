package clientip

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// hop is one client in a chain of proxies, as a forwarding header names
// it.
type hop struct {
	node  string     // the address as written, without quotes
	addr  netip.Addr // invalid for "unknown" and obfuscated names
	port  string
	proto string // "http", "https" or "", lowercased
}

// remoteAddr is the hop as r.RemoteAddr writes a peer: host:port, port 0
// when the header gave none. A hop that is no address keeps its name
// ("unknown:0", "_hidden:0"), which is no IP: nothing takes it for a
// loopback peer.
func (h hop) remoteAddr() string {
	port := h.port
	if port == "" {
		port = "0"
	}
	if h.addr.IsValid() {
		return net.JoinHostPort(h.addr.Unmap().String(), port)
	}
	return net.JoinHostPort(h.node, port)
}

// unknownHop stands for a client that headers from a trusted proxy did not
// name in a way that could be read.
var unknownHop = hop{node: "unknown"}

// Handler rewrites each request that comes from a trusted proxy to what
// its forwarding headers, or its connection's PROXY protocol version 2
// header, say of the client, then serves it with next:
// r.RemoteAddr becomes the client's address, and r.TLS is set (to a
// ConnectionState that holds nothing but HandshakeComplete) when the
// client's protocol was https, or cleared when it was http. Forwarded
// takes precedence; without it, X-Forwarded-For and X-Forwarded-Proto. A
// request from a trusted proxy without either header is left as it is
// (the proxy's own, such as a health check). Requests from other peers
// are passed on untouched.
func (p *Proxies) Handler(next http.Handler) http.Handler {
	if !p.Any() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r2, ok := p.rewrite(r); ok {
			r = r2
		} else if r.TLS == nil && proxiedTLS(r) {
			r = r.WithContext(r.Context())
			r.TLS = secured()
		}
		next.ServeHTTP(w, r)
	})
}

// secured is what r.TLS is set to for a client whose TLS a proxy ended:
// the transports ask only whether it is nil.
func secured() *tls.ConnectionState {
	return &tls.ConnectionState{HandshakeComplete: true}
}

// rewrite returns the request as it was sent by the client, if r's peer
// is trusted and says something of it.
func (p *Proxies) rewrite(r *http.Request) (*http.Request, bool) {
	if !p.trustsHostPort(r.RemoteAddr) {
		return nil, false
	}
	hops, ok := forwardedHops(r.Header)
	if !ok {
		return nil, false
	}
	client := unknownHop
	if hops != nil {
		client = hops[0]
		for i := len(hops) - 1; i >= 0; i-- {
			if !hops[i].addr.IsValid() || !p.Trusts(hops[i].addr) {
				client = hops[i]
				break
			}
		}
	}
	r2 := r.WithContext(r.Context()) // a shallow copy
	r2.RemoteAddr = client.remoteAddr()
	switch client.proto {
	case "https":
		if r2.TLS == nil {
			r2.TLS = secured()
		}
	case "http":
		r2.TLS = nil
	}
	return r2, true
}

// forwardedHops reads the chain of clients from Forwarded or, without it,
// X-Forwarded-For with X-Forwarded-Proto, leftmost (the first client)
// first. ok is false when neither header is there; hops is nil when one is
// there but cannot be read.
func forwardedHops(h http.Header) (hops []hop, ok bool) {
	if fwd := h.Values("Forwarded"); len(fwd) > 0 {
		return parseForwarded(strings.Join(fwd, ",")), true
	}
	xff := h.Values("X-Forwarded-For")
	if len(xff) == 0 {
		return nil, false
	}
	for _, s := range strings.Split(strings.Join(xff, ","), ",") {
		hp, ok := parseNode(strings.TrimSpace(s))
		if !ok {
			return nil, true
		}
		hops = append(hops, hp)
	}
	// One proto per hop, or one for all: that of the client of the proxy
	// that wrote it, which with one proxy is the client.
	if xfp := h.Values("X-Forwarded-Proto"); len(xfp) > 0 {
		protos := strings.Split(strings.Join(xfp, ","), ",")
		for i := range hops {
			j := len(protos) - 1
			if len(protos) == len(hops) {
				j = i
			}
			hops[i].proto = strings.ToLower(strings.TrimSpace(protos[j]))
		}
	}
	return hops, true
}

// parseForwarded reads an RFC 7239 Forwarded field value, elements joined
// by commas, pairs by semicolons. An element without a for= pair names an
// unknown client. Nil when the value cannot be read.
func parseForwarded(v string) []hop {
	var hops []hop
	elem := hop{node: "unknown"}
	for len(v) > 0 {
		// One pair: token "=" (token / quoted-string), then ";" or ",".
		i := strings.IndexByte(v, '=')
		if i <= 0 {
			return nil
		}
		key := strings.ToLower(strings.TrimSpace(v[:i]))
		v = strings.TrimLeft(v[i+1:], " \t")
		var val string
		if strings.HasPrefix(v, `"`) {
			var b strings.Builder
			j := 1
			for ; j < len(v) && v[j] != '"'; j++ {
				if v[j] == '\\' && j+1 < len(v) {
					j++
				}
				b.WriteByte(v[j])
			}
			if j >= len(v) {
				return nil // unterminated
			}
			val, v = b.String(), v[j+1:]
		} else {
			j := strings.IndexAny(v, ";,")
			if j < 0 {
				j = len(v)
			}
			val, v = strings.TrimSpace(v[:j]), v[j:]
		}
		switch key {
		case "for":
			hp, ok := parseNode(val)
			if !ok {
				return nil
			}
			elem.node, elem.addr, elem.port = hp.node, hp.addr, hp.port
		case "proto":
			elem.proto = strings.ToLower(val)
		}
		v = strings.TrimLeft(v, " \t")
		if v != "" && v[0] != ',' && v[0] != ';' {
			return nil // something after a quoted value
		}
		if v == "" || v[0] == ',' {
			hops = append(hops, elem)
			elem = hop{node: "unknown"}
		}
		if v != "" {
			v = strings.TrimLeft(v[1:], " \t")
		}
	}
	return hops
}

// parseNode reads an address as forwarding headers write it: IPv4 or
// bracketed IPv6, each with an optional port, a bare IPv6 (which
// X-Forwarded-For allows), "unknown" or an obfuscated "_name".
func parseNode(s string) (hop, bool) {
	if s == "" {
		return hop{}, false
	}
	if strings.EqualFold(s, "unknown") || s[0] == '_' {
		return hop{node: s}, validObfuscated(s)
	}
	host, port := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	} else if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		host = s[1 : len(s)-1]
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return hop{}, false
	}
	if port != "" && !validPort(port) {
		return hop{}, false
	}
	return hop{node: host, addr: a, port: port}, true
}

// validObfuscated checks "unknown" or an RFC 7239 §6.3 obfuscated node:
// "_" and letters, digits, ".", "_" and "-".
func validObfuscated(s string) bool {
	if strings.EqualFold(s, "unknown") {
		return true
	}
	for _, c := range s[1:] {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return len(s) > 1
}

// validPort checks a port number, or an obfuscated port ("_abc").
func validPort(p string) bool {
	if p[0] == '_' {
		return validObfuscated(p)
	}
	return len(p) <= 5 && strings.Trim(p, "0123456789") == ""
}
