package clientip

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// Proxies are the address ranges whose forwarding headers and PROXY
// protocol headers are believed.
type Proxies struct {
	prefixes []netip.Prefix
}

// ParseProxies reads CIDR prefixes ("10.0.0.0/8", "2001:db8::/32") and bare
// addresses ("192.0.2.7", one host). Nil or empty trusts nobody.
func ParseProxies(cidrs []string) (*Proxies, error) {
	p := &Proxies{}
	for _, s := range cidrs {
		var prefix netip.Prefix
		if strings.Contains(s, "/") {
			pr, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("clientip: %q is not an address range such as 10.0.0.0/8", s)
			}
			if pr != pr.Masked() {
				return nil, fmt.Errorf("clientip: %q has bits set past its prefix length; did you mean %s?", s, pr.Masked())
			}
			prefix = pr
		} else {
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("clientip: %q is not an IP address or an address range", s)
			}
			prefix = netip.PrefixFrom(a, a.BitLen())
		}
		p.prefixes = append(p.prefixes, prefix)
	}
	return p, nil
}

// Trusts says whether a is in a trusted range. An IPv4 address written as
// IPv6 (::ffff:192.0.2.7) is taken as the IPv4 one.
func (p *Proxies) Trusts(a netip.Addr) bool {
	a = a.Unmap()
	for _, pr := range p.prefixes {
		if pr.Contains(a) {
			return true
		}
	}
	return false
}

// Any says whether any range is trusted at all.
func (p *Proxies) Any() bool { return len(p.prefixes) > 0 }

// trustsHostPort is Trusts for a net.Addr's or RemoteAddr's host:port.
func (p *Proxies) trustsHostPort(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	return err == nil && p.Trusts(a)
}
