// Package cluster lets any bridge of a cluster serve any request of a BOSH
// or JSON API session, so that a load balancer in front of the bridges
// needs no sticky sessions: a session id names the node that holds the
// session ("node.random"), and a bridge that receives a request for another
// node's session forwards it to that node, from a configured list of
// peers. There is no shared state: the id says where the session is.
//
// A forwarded request carries ForwardedHeader and is always served where it
// arrives, so forwarding never loops. A session id that names no peer is
// served locally (its transport answers item-not-found): a forged id
// reaches nothing outside the list. When the owner cannot be reached, the
// request is also served locally, so the client hears its transport's own
// recoverable error (BOSH item-not-found, a JSON item-not-found error
// object) and starts over, through any node.
//
// Concurrency: a Cluster and the handlers it returns may be used from any
// goroutine. A forwarded request is served on its handler's goroutine,
// which waits for the owner's answer (bounded by Route.HoldTimeout until
// the answer begins) and copies it to the client; nothing else is started.
package cluster
