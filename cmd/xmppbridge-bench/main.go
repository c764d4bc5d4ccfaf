// Command xmppbridge-bench measures xmppbridge from outside, as a load tool.
//
//	xmppbridge-bench idle -url ws://127.0.0.1:5280/xmpp-websocket -pid PID -n 2000
//	xmppbridge-bench users -testbed DIR -n 1000
//	xmppbridge-bench load -bridge-ws URL -bridge-pid PID -prosody-ws URL -testbed DIR -n 1000 -rate 500 -duration 30s
//
// idle opens n WebSocket connections to the bridge, opens an XMPP stream on
// each (so the bridge holds an upstream stream per connection too), holds
// them, and reports the bridge process's resident memory per idle bridged
// session: the growth of its RSS, read from /proc, divided by n.
//
// users writes n accounts load0…load{n-1} (password "secret") straight into
// the data directory of a testbed Prosody, in its internal_hashed format, so
// that thousands of users are registered in a second rather than minutes.
//
// load logs in n users over several paths at once — through the bridge's
// WebSocket endpoint, straight to Prosody's own, and straight to Prosody's
// BOSH endpoint — interleaved, so every path sees the same machine; holds
// them idle; then sends chat messages between pairs of sessions at a target
// rate and measures, per path, session setup time, delivery latency, lost
// and reordered messages, and from /proc the memory and CPU time of the
// bridge and of Prosody. See load.go.
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
  xmppbridge-bench idle -url URL -pid PID [-n N] [-domain D] [-sources K] [-settle DURATION]
  xmppbridge-bench users -testbed DIR [-n N] [-prefix P] [-password PW]
  xmppbridge-bench load [-bridge-ws URL] [-prosody-ws URL] [-prosody-bosh URL] [-n N] [-rate R] [-duration D] ...
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
	case "users":
		err = users(os.Args[2:])
	case "load":
		err = load(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "xmppbridge-bench:", err)
		os.Exit(1)
	}
}
