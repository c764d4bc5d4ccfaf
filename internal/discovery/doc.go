// Package discovery serves XEP-0156 host-meta, which tells web clients such
// as Converse.js where a domain's WebSocket and BOSH endpoints are:
// /.well-known/host-meta as XRD (RFC 6415) and /.well-known/host-meta.json
// as JRD, both open to every origin (Access-Control-Allow-Origin: *, as
// XEP-0156 §3 recommends), for a page of any site must be able to find the
// endpoints of its user's domain.
//
// The endpoints' public URLs come from Config.PublicURL, or, when none is
// configured, from each request's own scheme and Host header. The Host is
// then what the client itself asked for, checked to be a host[:port] and
// never cached by anyone else (Cache-Control: no-store), so a forged one
// only misleads the client that forged it.
//
// Concurrency: the Handler keeps no state beyond its Config and serves
// requests concurrently.
package discovery
