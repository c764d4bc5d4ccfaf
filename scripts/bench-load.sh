#!/usr/bin/env bash
# Load: the bridge's WebSocket, BOSH and JSON API endpoints against
# Prosody's own, on one machine. Starts a private Prosody, writes N users
# into its storage, runs the bridge in front of it (plaintext over loopback,
# as on the server's own box) and has xmppbridge-bench load log N sessions
# in, dealt out in turn over the paths bridge-ws, prosody-ws, bridge-bosh,
# prosody-bosh and bridge-json; holds them; then sends RATE messages per
# second between pairs for DURATION, over every path at once, or with EACH=1
# one path at a time at RATE each (so the bridge's CPU time per message is
# its own for each path; the sessions are then set up one path at a time
# too, so that its CPU time per session set up is each path's own). Prints
# markdown tables, among them the bridge's CPU time per bridged session set
# up. Cleans up after itself.
#
# bridge-json is the bridge's JSON API over WebSocket (GET /json/ws,
# subprotocol xmppbridge-json.v1, docs/json-api.md): a session logs in with
# a login frame and the bridge does SASL and bind upstream itself (the
# password is accepted because the load tool connects from loopback), then
# sends initial presence and chat messages as JSON frames carrying the same
# sequence number and send time as the XML paths. Its bridge CPU per
# session set up therefore includes the SASL client's work (SCRAM), which
# on bridge-ws and bridge-bosh the browser does.
#   scripts/bench-load.sh [N [RATE [DURATION]]]     defaults: 1000 500 30s
# Environment:
#   PATHS  the paths to run, default "bridge-ws prosody-ws bridge-bosh prosody-bosh bridge-json"
#          (also bridge-sse and bridge-poll: the JSON API over Server-Sent
#          Events and over long-polling)
#   EACH=1 one path at a time
#   PIN=1  Prosody on CPU 0, the bridge and the load tool on CPU 1
#   JSON=FILE   the results as JSON;  PPROF=ADDR  the bridge's pprof
#   BRIDGE_BIN  a daemon binary to run instead of building ./cmd/xmppbridge
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000}"
rate="${2:-500}"
duration="${3:-30s}"
paths="${PATHS:-bridge-ws prosody-ws bridge-bosh prosody-bosh bridge-json}"
. scripts/lib-bench.sh
bench_init
bench_prosody prosody "$n"
pin_tool=()
if [ "${PIN:-}" = 1 ]; then
	taskset -a -pc 0 "$PID" >/dev/null
	pin_tool=(taskset -c 1)
fi
bench_bridge "$n" "${pin_tool[@]}"
# shellcheck disable=SC2086 # one word per path
bench_path_flags $paths
"${pin_tool[@]}" "$dir/bench" load "${flags[@]}" -bridge-pid "$bridge" -testbed "$dir/prosody" \
	-n "$n" -rate "$rate" -duration "$duration" ${EACH:+-each} ${JSON:+-json "$JSON"}
