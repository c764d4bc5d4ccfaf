#!/usr/bin/env bash
# Memory per idle bridged WebSocket session: a private Prosody, the bridge in
# front of it (plaintext over loopback, as on the server's own box), and
# xmppbridge-bench holding N open streams through it. Prints one JSON line.
#   scripts/bench-idle.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-2000}"
dir=$(mktemp -d)
trap 'kill "$bridge" 2>/dev/null || true; scripts/testbed.sh stop "$dir/prosody" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
mkdir -p "$dir/prosody"
eval "$(scripts/testbed.sh start "$dir/prosody")"
go build -o "$dir/xmppbridge" ./cmd/xmppbridge
go build -o "$dir/bench" ./cmd/xmppbridge-bench
cat >"$dir/bridge.toml" <<TOML
listen = "127.0.0.1:0"
log_level = "warn"
allow_any_domain = false
[limits]
max_sessions = 9000
[domain."$DOMAIN"]
address = "$C2S_ADDR"
security = "plaintext"
TOML
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$dir/xmppbridge" -config "$dir/bridge.toml" -listen "127.0.0.1:$port" ${PPROF:+-pprof "$PPROF"} &
bridge=$!
for _ in $(seq 50); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
"$dir/bench" idle -url "ws://127.0.0.1:$port/xmpp-websocket" -pid "$bridge" -n "$n" -domain "$DOMAIN" ${HOLD:+-settle "$HOLD"}
