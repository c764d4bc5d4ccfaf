package xmppclient

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"syscall"
)

// ErrNotPublic is what the *Error wraps when Config.PublicOnly refused every
// address the domain led to: each was one no server on the internet can
// have (loopback, private, link-local, ...).
var ErrNotPublic = errors.New("xmppclient: not a public address")

// notPublic are the ranges, beyond what netip.Addr's methods name, that no
// server on the internet has: "this network", shared address space
// (carrier-grade NAT), IETF protocol assignments, benchmarking, reserved,
// and their IPv6 counterparts (discard, documentation, and the
// IPv4-embedding prefixes that lead back into IPv4's private space).
var notPublic = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "192.0.2.0/24", "198.18.0.0/15",
		"198.51.100.0/24", "203.0.113.0/24", "240.0.0.0/4",
		"64:ff9b::/96", "64:ff9b:1::/48", "100::/64", "2001:db8::/32", "2002::/16",
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

// Public reports whether ip is an address a server on the internet may
// have: not loopback, private (RFC 1918, fc00::/7), link-local, multicast,
// unspecified or otherwise reserved.
func Public(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	for _, p := range notPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// publicOnly is a net.Dialer Control that refuses to connect to an address
// that is not Public. It sees the address actually dialled, after every
// lookup (SRV, then A/AAAA), so no DNS answer, however it changes, leads
// the connection elsewhere.
func publicOnly(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrNotPublic, address)
	}
	if !Public(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrNotPublic, ap.Addr())
	}
	return nil
}

// notPublicError is the *Error for a connection PublicOnly refused: the
// browser hears host-unknown, as for a domain the bridge does not serve.
func notPublicError(domain string, err error) *Error {
	return &Error{Cond: condHostUnknown, Err: fmt.Errorf("xmppclient: dial %s: %w", domain, err)}
}

// literalIP is the address a domain that is an IP literal names (RFC 6120
// §3.2.1: IPv4 as it is, IPv6 in brackets), or the zero Addr.
func literalIP(domain string) netip.Addr {
	if strings.HasPrefix(domain, "[") && strings.HasSuffix(domain, "]") {
		ip, err := netip.ParseAddr(domain[1 : len(domain)-1])
		if err != nil || !ip.Is6() || ip.Zone() != "" {
			return netip.Addr{}
		}
		return ip
	}
	ip, err := netip.ParseAddr(domain)
	if err != nil || !ip.Is4() {
		return netip.Addr{}
	}
	return ip
}

// literalAddr is the address to dial for a domain that is an IP literal:
// there are no SRV records to look up, and the port is XEP-0368's 5223 for
// direct TLS, RFC 6120's 5222 else. "" for a domain name.
func literalAddr(domain string, sec Security) string {
	ip := literalIP(domain)
	if !ip.IsValid() {
		return ""
	}
	port := "5222"
	if sec == DirectTLS {
		port = "5223"
	}
	return net.JoinHostPort(ip.String(), port)
}
