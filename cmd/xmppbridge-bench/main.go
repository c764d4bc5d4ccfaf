// Command xmppbridge-bench measures xmppbridge from outside, as a load tool.
//
//	xmppbridge-bench idle -kind ws -url ws://127.0.0.1:5280/xmpp-websocket -pid PID -n 2000
//	xmppbridge-bench idle -kind bosh -url http://127.0.0.1:5280/http-bind -pid PID -n 2000 -login
//	xmppbridge-bench idle -kind json -url ws://127.0.0.1:8080/json/ws -pid PID -n 2000 -login
//	xmppbridge-bench idle -kind sse -url http://127.0.0.1:5280/json -pid PID -pprof ADDR -n 2000 -login
//	xmppbridge-bench users -testbed DIR -n 1000
//	xmppbridge-bench resume -url ws://127.0.0.1:8080/json/ws -pid PID -metrics http://127.0.0.1:9465/metrics -n 1000
//	xmppbridge-bench load -bridge-ws URL -bridge-bosh URL -bridge-json URL -bridge-pid PID -prosody-ws URL -prosody-bosh URL -testbed DIR -n 1000 -rate 500 -duration 30s
//	xmppbridge-bench load -each ...   or   xmppbridge-bench load -ramp ...
//	xmppbridge-bench failover -ws ws://LB/json/ws -http http://LB/json -kill-pid PID -kill-node a1 -n 1000 -rate 200
//	xmppbridge-bench soak -bridge-ws URL -bridge-bosh URL -bridge-json URL -bridge-sse URL -bridge-poll URL -bridge-pid PID -pprof ADDR -testbed DIR -n 250 -rate 100 -duration 30m
//
// idle opens n sessions to one endpoint — WebSocket, BOSH with one request
// held per session as browsers keep it (and, by default, the idle
// keep-alive connection beside it: -conns), or the bridge's JSON API over
// WebSocket, Server-Sent Events or long-poll — each with an open XMPP
// stream (or, with -login, a logged-in user; a JSON session is always
// one), holds them, and reports the resident memory per idle session of
// the process given by -pid: the growth of its RSS, read from /proc,
// divided by n; likewise its descriptors, and with -pprof its goroutines. Pointed at the bridge it measures the bridge;
// pointed at Prosody's own endpoint, Prosody.
//
// resume logs n users in over the bridge's JSON API WebSocket, keeping
// each session's resume token and the number of the last frame it had,
// then cuts every connection (the socket closed, no close frame) and, once
// the bridge has detached the sessions (its metrics say so), resumes each
// on a fresh WebSocket, a few at a time; or, with -transport poll, the
// same over the JSON API's long-poll transport. It reports the bridge's RSS per
// attached and per detached session, read from /proc as idle does, and
// the time from the dial to the resumed frame, with the failures by code.
// See resume.go.
//
// users writes n accounts load0…load{n-1} (password "secret") straight into
// the data directory of a testbed Prosody, in its internal_hashed format, so
// that thousands of users are registered in a second rather than minutes.
//
// load logs in n users over several paths at once — through the bridge's
// WebSocket, BOSH and JSON API endpoints (on the JSON API the bridge logs in
// upstream itself, from a login frame), and straight to Prosody's own —
// interleaved, so every path sees the same machine; holds them idle; then
// sends chat messages between pairs of sessions and measures, per path,
// session setup time, delivery latency, lost and reordered messages, and
// from /proc the memory and CPU time of the bridge and of Prosody, among
// them the bridge's CPU time per bridged session set up. The messages go
// over every path at once at a target rate (the default), over one path at
// a time at that rate (-each: the CPU time of each phase is that path's;
// the sessions are set up one path at a time too, so the CPU time of each
// path's setup is its own), or one path at a time in steps of rising rate
// until the path no longer keeps up (-ramp: its saturation rate). See
// load.go and ramp.go.
//
// soak keeps n users logged in through every transport of the bridge (the
// JSON API's Server-Sent Events and long-poll too) at a moderate rate for a
// long while, injects faults on a schedule — browsers dropped, slow
// readers, malformed input, Prosody restarted and hung, poison stanzas —
// and reports the messages lost, duplicated and reordered that no fault
// excuses, the sessions that ended with no fault on them, and the bridge's
// RSS, descriptors and goroutines over time, which must come back to their
// baseline once the sessions are closed. See soak.go.
//
// failover logs n users in over the JSON API's WebSocket, events stream
// and long-poll through a balancer in front of a cluster of bridges that
// share [json] resume_key, has pairs of them exchange numbered messages,
// kills one bridge with SIGKILL, and counts, per transport, the pages that
// resumed through the balancer with their tokens (and XEP-0198 upstream,
// on the survivor), those that had to log in again, the time from the kill
// to each one resumed, and the messages lost, duplicated and reordered.
// See failover.go.
//
// Every subcommand is bounded in count and time and stops by itself. Source
// addresses are spread over 127.0.0.x to stay clear of ephemeral port
// exhaustion.
package main

import (
	"fmt"
	"os"
)

const usage = `usage:
  xmppbridge-bench idle [-kind ws|bosh|json|sse|poll] -url URL -pid PID [-pprof ADDR] [-server-pid PID] [-n N] [-login] [-conns 1|2] [-settle DURATION] ...
  xmppbridge-bench resume [-transport ws|poll] -url URL -pid PID [-server-pid PID] [-metrics URL] [-n N] [-concurrency C] ...
  xmppbridge-bench users -testbed DIR [-n N] [-prefix P] [-password PW]
  xmppbridge-bench load [-bridge-ws URL] [-prosody-ws URL] [-bridge-bosh URL] [-prosody-bosh URL] [-bridge-json URL] [-bridge-sse URL] [-bridge-poll URL] [-n N] [-rate R] [-duration D] [-each | -ramp ...] ...
  xmppbridge-bench failover -ws URL -http URL -kill-pid PID [-kill-node NAME] [-transports ws,sse,poll] [-n N] [-rate R] [-before D] [-after D] ...
  xmppbridge-bench soak [-bridge-ws URL] [-bridge-bosh URL] [-bridge-json URL] [-bridge-sse URL] [-bridge-poll URL] -bridge-pid PID -pprof ADDR -testbed DIR [-n N] [-rate R] [-duration D] [fault flags] ...
run a subcommand with -h for its flags`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "idle":
		err = idle(os.Args[2:])
	case "resume":
		err = resume(os.Args[2:])
	case "users":
		err = users(os.Args[2:])
	case "load":
		err = load(os.Args[2:])
	case "soak":
		err = soak(os.Args[2:])
	case "failover":
		err = failover(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "xmppbridge-bench:", err)
		os.Exit(1)
	}
}
