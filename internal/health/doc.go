// Package health answers the two questions a load balancer or an
// orchestrator asks of the daemon: is the process up (liveness, /healthz),
// and should it be sent new clients (readiness, /readyz: it accepts
// connections, is not draining, and the XMPP servers it was told of accept
// TCP connections).
//
// Concurrency: a Checker's methods and handlers may be called from any
// goroutine. Requests for readiness share one round of connection attempts
// at a time, and a round's answer is reused for Config.CacheFor, so
// however often /readyz is asked, each server gets at most one connection
// attempt per CacheFor. The goroutines of a round belong to the call that
// started it, which waits for them.
package health
