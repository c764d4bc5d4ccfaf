package clientip

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"

	"github.com/pires/go-proxyproto"
	"github.com/pires/go-proxyproto/tlvparse"
)

// Listener reads a PROXY protocol header, version 1 or 2, at the start of
// each connection from a trusted peer, when there is one, and gives the
// connection the client's address it names as its RemoteAddr. Connections
// from other peers are handed over as they are, unread: a PROXY header
// from them is only a malformed request. A connection's header is read by
// its first Read, not by Accept, so a slow peer holds up only itself.
func (p *Proxies) Listener(ln net.Listener) net.Listener {
	return &proxyproto.Listener{
		Listener: ln,
		ConnPolicy: func(o proxyproto.ConnPolicyOptions) (proxyproto.Policy, error) {
			if p.trustsHostPort(o.Upstream.String()) {
				return proxyproto.USE, nil
			}
			return proxyproto.SKIP, nil
		},
	}
}

// connKey is the context key of the PROXY protocol connection a request
// came on.
type connKey struct{}

// ConnContext is for http.Server.ConnContext: it lets Handler see the
// PROXY protocol header of a request's connection, whose PP2_TYPE_SSL
// says whether the client's own connection to the proxy was TLS.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if pc, ok := c.(*proxyproto.Conn); ok {
		return context.WithValue(ctx, connKey{}, pc)
	}
	return ctx
}

// proxiedTLS says whether r came on a connection whose PROXY protocol
// version 2 header says the client connected to the proxy over TLS. The
// header was read with the request, so this does not block.
func proxiedTLS(r *http.Request) bool {
	pc, ok := r.Context().Value(connKey{}).(*proxyproto.Conn)
	if !ok {
		return false
	}
	h := pc.ProxyHeader()
	if h == nil {
		return false
	}
	tlvs, err := h.TLVs()
	if err != nil {
		return false
	}
	ssl, ok := tlvparse.FindSSL(tlvs)
	return ok && ssl.ClientSSL()
}
