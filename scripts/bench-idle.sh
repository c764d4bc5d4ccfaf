#!/usr/bin/env bash
# Memory per idle session. Starts a private Prosody and the bridge in front
# of it (plaintext over loopback, as on the server's own box), has
# xmppbridge-bench idle hold N sessions open, and reads resident memory from
# /proc: growth ÷ N, with the measured process's descriptors (and, for the
# bridge, its goroutines from its pprof) per session. Every run has a fresh
# Prosody of its own. KIND says which sessions:
#   ws    N WebSocket sessions straight to Prosody's mod_websocket (Prosody's
#         RSS), then N through the bridge (the bridge's RSS, and that
#         Prosody's for the c2s streams behind it)
#   bosh  N BOSH sessions straight to Prosody's mod_bosh, then N through the
#         bridge as browsers hold them (hold=1, wait=60, one request held and
#         sent again when it comes back empty, and the keep-alive connection
#         the last stanza went out on kept idle beside it, as Strophe.js and
#         Converse.js leave it), then N through the bridge with that second
#         connection closed (one connection a session)
#   json  N sessions of the bridge's JSON API over WebSocket, over
#         Server-Sent Events (the events stream and the POST connection
#         kept) and over long-poll (hold=1, two connections as BOSH)
#   all   all of them
# Prints a markdown table. Cleans up after itself.
#   scripts/bench-idle.sh [N [KIND]]        defaults: 2000 all; N at most 9000
#                                           (above 6000, the BOSH and JSON
#                                           HTTP runs keep one connection a
#                                           session: two are three descriptors
#                                           in the bridge)
# Environment:
#   LOGIN=1     log every session in (SASL PLAIN, bind, presence) rather than
#               only opening the stream; json always logs in
#   HOLD=DUR    how long the sessions are held before the last reading (3s)
#   PPROF=ADDR  the bridge's pprof (default: a free port on 127.0.0.1; its
#               goroutines are counted through it);  BRIDGE_BIN  a daemon
#               binary to run instead of building ./cmd/xmppbridge
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-2000}"
kind="${2:-all}"
case "$kind" in ws | bosh | json | all) ;; *) echo "bench-idle: KIND is ws, bosh, json or all" >&2; exit 2 ;; esac
. scripts/lib-bench.sh
bench_init
login=()
[ "${LOGIN:-}" = 1 ] && login=(-login)
PPROF="${PPROF:-127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"

idle() {
	"$dir/bench" idle -n "$n" -domain "$DOMAIN" -format row ${HOLD:+-settle "$HOLD"} "$@" >>"$dir/rows"
}

# bridge_run NAME IDLE-FLAGS...: a fresh Prosody, the bridge in front of it,
# and one idle run against the bridge (@PORT@ in the flags: its port).
bridge_run() {
	local name=$1
	shift
	bench_prosody "$name" "$n"
	bench_bridge "$n"
	idle -pid "$bridge" -pprof "$PPROF" -server-pid "$PID" "${@//@PORT@/$port}"
	bench_bridge_stop
	scripts/testbed.sh stop "$dir/$name" >/dev/null
}

# prosody_run NAME KIND URL-VARIABLE IDLE-FLAGS...: a fresh Prosody and one
# idle run against its own endpoint.
prosody_run() {
	local name=$1 kind=$2 urlvar=$3
	shift 3
	bench_prosody "$name" "$n"
	idle -pid "$PID" -kind "$kind" -url "${!urlvar}" "$@"
	scripts/testbed.sh stop "$dir/$name" >/dev/null
}

: >"$dir/rows"
if [ "$kind" = ws ] || [ "$kind" = all ]; then
	prosody_run prosody-ws ws WS_URL -name "prosody-ws (Prosody RSS)" "${login[@]}"
	bridge_run bridge-ws -name "bridge-ws (bridge RSS; Prosody behind it)" -kind ws -url "ws://127.0.0.1:@PORT@/xmpp-websocket" "${login[@]}"
fi
# Two connections a session are three descriptors in the bridge and two in
# the load tool, against 20,000 a process: above 6,000 sessions the BOSH
# and JSON HTTP runs keep one.
two=1
[ "$n" -gt 6000 ] && two=
if [ "$kind" = bosh ] || [ "$kind" = all ]; then
	if [ -n "$two" ]; then
		prosody_run prosody-bosh bosh BOSH_URL -name "prosody-bosh, 2 connections (Prosody RSS)" -conns 2 "${login[@]}"
		bridge_run bridge-bosh -name "bridge-bosh, 2 connections (bridge RSS; Prosody behind it)" -kind bosh -url "http://127.0.0.1:@PORT@/http-bind" -conns 2 "${login[@]}"
	else
		prosody_run prosody-bosh bosh BOSH_URL -name "prosody-bosh, 1 connection (Prosody RSS)" -conns 1 "${login[@]}"
	fi
	bridge_run bridge-bosh1 -name "bridge-bosh, 1 connection (bridge RSS; Prosody behind it)" -kind bosh -url "http://127.0.0.1:@PORT@/http-bind" -conns 1 "${login[@]}"
fi
if [ "$kind" = json ] || [ "$kind" = all ]; then
	bridge_run bridge-json -name "bridge-json, WebSocket (bridge RSS; Prosody behind it)" -kind json -url "ws://127.0.0.1:@PORT@/json/ws" -login
	if [ -n "$two" ]; then
		bridge_run bridge-sse -name "bridge-sse, events + POST connection (bridge RSS; Prosody behind it)" -kind sse -url "http://127.0.0.1:@PORT@/json" -conns 2 -login
		bridge_run bridge-poll -name "bridge-poll, 2 connections (bridge RSS; Prosody behind it)" -kind poll -url "http://127.0.0.1:@PORT@/json" -conns 2 -login
	else
		bridge_run bridge-sse -name "bridge-sse, events only (bridge RSS; Prosody behind it)" -kind sse -url "http://127.0.0.1:@PORT@/json" -conns 1 -login
		bridge_run bridge-poll -name "bridge-poll, 1 connection (bridge RSS; Prosody behind it)" -kind poll -url "http://127.0.0.1:@PORT@/json" -conns 1 -login
	fi
fi
login_note="stream opened, not logged in; JSON sessions logged in"
[ "${LOGIN:-}" = 1 ] && login_note="logged in: SASL PLAIN, bind, presence"
echo
echo "$n idle sessions each ($login_note)"
echo
"$dir/bench" idle -format header
cat "$dir/rows"
