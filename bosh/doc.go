// Package bosh is xmppbridge's long-poll front door: a BOSH connection
// manager (XEP-0124, with the XMPP extensions of XEP-0206) over one
// bridge.Session per BOSH session. Usually the browser's client does SASL
// and resource binding through it; Handler.Prebind makes a session the
// bridge has logged in itself, for a client to attach to. docs/bosh.md checks the package
// against the specifications rule by rule.
//
// Each request's <body/> is checked as a whole (one well-formed element, no
// character data between its children) and each child is checked to be one
// well-formed element no larger than the stanza limit; children go upstream
// in rid order, each with the namespace declarations it borrows from the
// <body/> (a child without its own xmlns is in jabber:client). Elements from
// the server go out in the next response, each with the declarations it
// borrows from the upstream stream header.
//
// Concurrency: a held request is its own net/http handler goroutine,
// waiting on its session's wake channel or on a timer; an idle session
// (no request held) has no goroutine at all, only an inactivity timer.
// Responses are built by the goroutine that answers, in rid order. The
// Handler's methods are safe for concurrent use; Handler.Shutdown waits for
// every request the Handler is serving, and
// for every Prebind under way.
//
// Lock order: session.mu may be held while taking Handler.mu (to forget a
// session) and while calling bridge.Session.Pull and Release, which take
// only the session queue's own lock. Handler.mu is held for map operations
// only and never while taking session.mu. No lock of this package is held
// while calling bridge.Hub.Open or bridge.Session.Send, Restart or End, which
// write to the network and may call Wake; Wake takes session.mu.
package bosh
