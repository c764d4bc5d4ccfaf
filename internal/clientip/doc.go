// Package clientip finds a request's real client behind the reverse
// proxies and load balancers the operator trusts, so that the transports
// see it as r.RemoteAddr, and see r.TLS set when the client's own
// connection was secured, whatever the last hop was.
//
// Two ways are believed, and only from a peer inside the trusted ranges:
// the HTTP headers Forwarded (RFC 7239) or, without it, X-Forwarded-For and
// X-Forwarded-Proto (Proxies.Handler), and the PROXY protocol, versions 1
// and 2, in front of the connection (Proxies.Listener). A header or a PROXY
// header from anyone else is not looked at: a client cannot make itself
// look like another, nor like loopback.
//
// Through a chain of proxies the client is the rightmost hop that is not
// trusted: everything to its left was written by that untrusted hop and
// could say anything.
//
// Concurrency: a Proxies is not changed after ParseProxies returns it, and
// its methods and handlers may be used from any goroutine.
package clientip
