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
// The request engine (the rid window, in-order intake, answers kept for
// resends, hold, wait, pause, inactivity) is package longpoll's, shared
// with the JSON API; this package is its Content for BOSH.
//
// Concurrency: a held request has no goroutine of its own: the engine
// answers it when something happens (the bridge session wakes it, a timer,
// a newer request) and package httphold writes the answer on the
// connection it parked. An idle session (no request held) has only its
// inactivity timer. The Handler's methods are safe for concurrent use;
// Handler.Shutdown waits until every request the Handler serves is
// answered, and for every Prebind under way.
//
// Lock order: a session's lock is its engine's; it may be held while taking
// Handler.mu (to forget a session) and while calling bridge.Session.Pull
// and Release, which take only the session queue's own lock. Handler.mu is
// held for map operations only and never while taking a session's lock. No
// lock of this package is held while calling bridge.Hub.Open or
// bridge.Session.Send, Restart or End, which write to the network and may
// call Wake; Wake takes the session's lock.
package bosh
