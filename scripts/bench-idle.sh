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
dir=$(mktemp -d)
bridge=
cleanup() {
	if [ -n "$bridge" ]; then
		kill "$bridge" 2>/dev/null || true
		wait "$bridge" 2>/dev/null || true
	fi
	for p in "$dir"/prosody*; do
		if [ -d "$p" ]; then
			scripts/testbed.sh stop "$p" >/dev/null 2>&1 || true
		fi
	done
	rm -rf "$dir"
}
trap cleanup EXIT
export TESTBED_LOG_LEVEL="${TESTBED_LOG_LEVEL:-warn}"
if [ -n "${BRIDGE_BIN:-}" ]; then
	cp "$BRIDGE_BIN" "$dir/xmppbridge"
else
	go build -o "$dir/xmppbridge" ./cmd/xmppbridge
fi
go build -o "$dir/bench" ./cmd/xmppbridge-bench
login=()
[ "${LOGIN:-}" = 1 ] && login=(-login)

# start_prosody NAME: a fresh testbed Prosody in $dir/NAME with N users; sets
# DOMAIN, C2S_ADDR, WS_URL, BOSH_URL and PID.
start_prosody() {
	mkdir -p "$dir/$1"
	eval "$(scripts/testbed.sh start "$dir/$1")"
	"$dir/bench" users -testbed "$dir/$1" -n "$n"
}

# bridge_start: the bridge in front of the Prosody last started; sets port
# and bridge.
bridge_start() {
	cat >"$dir/bridge.toml" <<TOML
listen = "127.0.0.1:0"
log_level = "warn"
allow_any_domain = false
[limits]
max_sessions = $((n + 100))
[domain."$DOMAIN"]
address = "$C2S_ADDR"
security = "plaintext"
TOML
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$dir/xmppbridge" -config "$dir/bridge.toml" -listen "127.0.0.1:$port" ${PPROF:+-pprof "$PPROF"} &
	bridge=$!
	for _ in $(seq 50); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
}

bridge_stop() {
	kill "$bridge" 2>/dev/null || true
	wait "$bridge" 2>/dev/null || true
	bridge=
}

idle() {
	"$dir/bench" idle -n "$n" -domain "$DOMAIN" -format row ${HOLD:+-settle "$HOLD"} "${login[@]}" "$@" >>"$dir/rows"
}

: >"$dir/rows"
if [ "$kind" = ws ] || [ "$kind" = all ]; then
	start_prosody prosody-ws
	bridge_start
	idle -name "bridge-ws (bridge RSS; Prosody behind it)" -kind ws -url "ws://127.0.0.1:$port/xmpp-websocket" -pid "$bridge" -server-pid "$PID"
	bridge_stop
	scripts/testbed.sh stop "$dir/prosody-ws" >/dev/null
fi
if [ "$kind" = bosh ] || [ "$kind" = all ]; then
	start_prosody prosody-bosh
	idle -name "prosody-bosh (Prosody RSS)" -kind bosh -url "$BOSH_URL" -pid "$PID"
	scripts/testbed.sh stop "$dir/prosody-bosh" >/dev/null
	start_prosody prosody-behind
	bridge_start
	idle -name "bridge-bosh (bridge RSS; Prosody behind it)" -kind bosh -url "http://127.0.0.1:$port/http-bind" -pid "$bridge" -server-pid "$PID"
	bridge_stop
	scripts/testbed.sh stop "$dir/prosody-behind" >/dev/null
fi
login_note="stream opened, not logged in"
[ "${LOGIN:-}" = 1 ] && login_note="logged in: SASL PLAIN, bind, presence"
echo
echo "$n idle sessions each ($login_note)"
echo
"$dir/bench" idle -format header
cat "$dir/rows"
