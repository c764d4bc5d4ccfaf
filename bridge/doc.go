// Package bridge is the per-user session core of xmppbridge: it pairs one
// browser-facing transport (wsframe, bosh) with one upstream XMPP stream
// (xmppclient) and carries elements between them in order.
//
// Upstream to browser, a session's one reader goroutine puts every element
// the server sends into the session's bounded queue and never blocks on the
// browser: a queue that overflows ends that session alone. Every session
// ends with exactly one final item that carries a CloseError (nil for a
// clean end), after all items that were queued before it unless the reason
// says to discard them.
//
// Browser to upstream, the transport calls Send, Restart and End; they
// write to the upstream socket with a deadline.
//
// A bridge-authenticated session may have the bridge do XEP-0198 stream
// management itself (OpenRequest.StreamManagement): the transport says what
// the browser handled (Handled), the server is acknowledged only that, and
// when the upstream link breaks the reader resumes the stream in place —
// with the SCRAM secret of the login, not the password — so the browser
// sees nothing but a delay. OpenRequest.Resume continues such a stream in
// another process.
//
// The contract between a session and its transport (Transport):
//
//   - Hub.Open calls Transport.Attach with the session before it returns and
//     before any Wake: the transport knows its session before it is told
//     anything about it.
//   - Wake says items are waiting. The transport then calls Pull, which
//     hands over the queue's own array, until it returns nil (Release gives
//     an array back for reuse); only then will the next item wake it. Wake
//     is called at most once per such idle period and must not block.
//   - The session calls Attach and Wake only from its own goroutines (its
//     reader, or one started to wake the transport), never from within a
//     call the transport made: a transport may call Open, Send, Restart and
//     End while holding its own locks, and take them in Wake.
//
// Hub.Stats reports counts for metrics, kept with atomic adds and no
// allocation per element: sessions opened, open and ended by reason, and
// elements and bytes each way, apart for each transport that names itself
// (Named); repaired and dropped elements, resumes, logins refused. The
// bridge logs nothing and exports nothing itself: the daemon reads Stats.
//
// What one client may take is bounded (Config.Limits, Reserved,
// AuthTimeout; guard.go): sessions per address and how fast it opens
// them, a share of MaxSessions kept for authenticated sessions, a deadline
// for a relayed stream to authenticate within, and logins — the bridge's
// own and the SASL a browser relays, which the session reads as it goes
// by — throttled after failures per address and per account, answered in
// SASL's words (temporary-auth-failure) or by ending the session
// (ReasonThrottled). Config.OnLogin reports every login, LimitStats counts.
//
// Concurrency: Hub and Session methods are safe for concurrent use.
package bridge
