// Package jsonapi serves the bridge's JSON API (docs/json-api.md): JSON
// frames over WebSocket (subprotocol xmppbridge-json.v1), over Server-Sent
// Events with POSTs up, and over HTTP long-polling, for web pages that want
// neither XML nor SASL.
//
// Every session is bridge-authenticated: its first frame is a login (a JID
// and password, or a token from the prebind API), and the bridge logs in
// upstream with bridge.OpenRequest.Login. Stanzas travel as the JSON objects
// of package jsonxlate; the package's own frames (session, resumed, ack,
// error, close) are built here.
//
// Frames for the browser are numbered and built only when a consumer looks
// (a WebSocket's writer, an events stream, a held poll), so what a slow
// browser has not taken waits in the bridge session's bounded queue. On
// every transport they are kept until acknowledged (ack frames, ack in
// posts, Last-Event-ID), so a lost answer or a dropped stream loses
// nothing; POSTs are taken in rid order and a repeated rid is answered
// without sending its frames twice — the guarantees of BOSH (XEP-0124),
// which package bosh gives XML clients.
//
// A session outlives its connection (token.go, login.go's resume): when its
// page goes away it is detached for Config.ResumeWindow, and a resume
// frame with its signed token attaches it to a new connection of any
// transport, which gets every frame the page had not and learns how many
// of the page's own frames were taken.
//
// The HTTP transports' posts go through the request engine of package
// longpoll, shared with BOSH: it takes them in rid order, holds polls and
// answers resends; the session is its Content and shares its lock.
//
// Goroutines: a WebSocket is served by package wsconn, as the XML one is:
// its reader parks on a fresh goroutine between messages and its writer
// runs only while something is to be written. A held poll and an events
// stream hold no goroutine of their own: package httphold parks their
// connections and writes their answers. Handler.Shutdown waits until every request served
// has been answered. The package never logs; Config.OnReject hears of
// refusals.
package jsonapi
