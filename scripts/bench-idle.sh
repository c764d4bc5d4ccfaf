#!/usr/bin/env bash
# Memory per idle session. Starts a private Prosody and the bridge in front
# of it (plaintext over loopback, as on the server's own box), has
# xmppbridge-bench idle hold N sessions open, and reads resident memory from
# /proc: growth ÷ N. KIND says which sessions:
#   ws    N WebSocket sessions through the bridge: the bridge's RSS
#   bosh  N BOSH sessions straight to Prosody's mod_bosh (Prosody's RSS),
#         then, against a second, fresh Prosody, N BOSH sessions through the
#         bridge (the bridge's RSS, and that Prosody's for the c2s streams
#         behind it). Each BOSH session keeps one request held, sent again
#         when it comes back empty after 'wait', as browsers do.
#   all   both
# Prints a markdown table. Cleans up after itself.
#   scripts/bench-idle.sh [N [KIND]]        defaults: 2000 all; N at most 9000
# Environment:
#   LOGIN=1     log every session in (SASL PLAIN, bind, presence) rather than
#               only opening the stream
#   HOLD=DUR    how long the sessions are held before the last reading (3s)
#   PPROF=ADDR  the bridge's pprof;  BRIDGE_BIN  a daemon binary to run
#               instead of building ./cmd/xmppbridge
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-2000}"
kind="${2:-all}"
case "$kind" in ws | bosh | all) ;; *) echo "bench-idle: KIND is ws, bosh or all" >&2; exit 2 ;; esac
. scripts/lib-bench.sh
bench_init
login=()
[ "${LOGIN:-}" = 1 ] && login=(-login)

idle() {
	"$dir/bench" idle -n "$n" -domain "$DOMAIN" -format row ${HOLD:+-settle "$HOLD"} "${login[@]}" "$@" >>"$dir/rows"
}

: >"$dir/rows"
if [ "$kind" = ws ] || [ "$kind" = all ]; then
	bench_prosody prosody-ws "$n"
	bench_bridge "$n"
	idle -name "bridge-ws (bridge RSS; Prosody behind it)" -kind ws -url "ws://127.0.0.1:$port/xmpp-websocket" -pid "$bridge" -server-pid "$PID"
	bench_bridge_stop
	scripts/testbed.sh stop "$dir/prosody-ws" >/dev/null
fi
if [ "$kind" = bosh ] || [ "$kind" = all ]; then
	bench_prosody prosody-bosh "$n"
	idle -name "prosody-bosh (Prosody RSS)" -kind bosh -url "$BOSH_URL" -pid "$PID"
	scripts/testbed.sh stop "$dir/prosody-bosh" >/dev/null
	bench_prosody prosody-behind "$n"
	bench_bridge "$n"
	idle -name "bridge-bosh (bridge RSS; Prosody behind it)" -kind bosh -url "http://127.0.0.1:$port/http-bind" -pid "$bridge" -server-pid "$PID"
	bench_bridge_stop
	scripts/testbed.sh stop "$dir/prosody-behind" >/dev/null
fi
login_note="stream opened, not logged in"
[ "${LOGIN:-}" = 1 ] && login_note="logged in: SASL PLAIN, bind, presence"
echo
echo "$n idle sessions each ($login_note)"
echo
"$dir/bench" idle -format header
cat "$dir/rows"
