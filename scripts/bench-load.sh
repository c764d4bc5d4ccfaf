#!/usr/bin/env bash
# Load: the bridge's WebSocket endpoint against Prosody's own, on one machine.
# Starts a private Prosody, writes N users into its storage, runs the bridge
# in front of it (plaintext over loopback, as on the server's own box) and has
# xmppbridge-bench load log N sessions in, half through the bridge and half
# straight to Prosody's mod_websocket, interleaved; holds them; then sends
# RATE messages per second between pairs for DURATION. Prints markdown tables;
# the JSON results go to $JSON if set; BOSH=1 adds a third path, straight to
# Prosody's mod_bosh; PPROF=ADDR serves the bridge's pprof. Cleans up after
# itself.
#   scripts/bench-load.sh [N [RATE [DURATION]]]     defaults: 1000 500 30s
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000}"
rate="${2:-500}"
duration="${3:-30s}"
dir=$(mktemp -d)
bridge=
cleanup() {
	if [ -n "$bridge" ]; then
		kill "$bridge" 2>/dev/null || true
		wait "$bridge" 2>/dev/null || true
	fi
	scripts/testbed.sh stop "$dir/prosody" >/dev/null 2>&1 || true
	rm -rf "$dir"
}
trap cleanup EXIT
mkdir -p "$dir/prosody"
# Prosody's own log at info level writes a line per connection; keep the
# disk out of the measurement.
export TESTBED_LOG_LEVEL="${TESTBED_LOG_LEVEL:-warn}"
eval "$(scripts/testbed.sh start "$dir/prosody")"
go build -o "$dir/xmppbridge" ./cmd/xmppbridge
go build -o "$dir/bench" ./cmd/xmppbridge-bench
# prosodyctl register takes tens of milliseconds a user; the bench tool
# writes the accounts in Prosody's internal_hashed format directly, and
# Prosody reads account files afresh at each login.
"$dir/bench" users -testbed "$dir/prosody" -n "$n"
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
"$dir/bench" load \
	-bridge-ws "ws://127.0.0.1:$port/xmpp-websocket" -bridge-pid "$bridge" \
	-prosody-ws "$WS_URL" ${BOSH:+-prosody-bosh "$BOSH_URL"} -testbed "$dir/prosody" \
	-n "$n" -rate "$rate" -duration "$duration" ${JSON:+-json "$JSON"}
