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
pin_tool=()
if [ "${PIN:-}" = 1 ]; then
	taskset -a -pc 0 "$PID" >/dev/null
	pin_tool=(taskset -c 1)
fi
if [ -n "${BRIDGE_BIN:-}" ]; then
	cp "$BRIDGE_BIN" "$dir/xmppbridge"
else
	go build -o "$dir/xmppbridge" ./cmd/xmppbridge
fi
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
[json]
# Served by default; the path is the one -bridge-json points at below.
path = "/json"
[domain."$DOMAIN"]
address = "$C2S_ADDR"
security = "plaintext"
TOML
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${pin_tool[@]}" "$dir/xmppbridge" -config "$dir/bridge.toml" -listen "127.0.0.1:$port" ${PPROF:+-pprof "$PPROF"} &
bridge=$!
for _ in $(seq 50); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
flags=()
for p in $paths; do
	case "$p" in
	bridge-ws) flags+=(-bridge-ws "ws://127.0.0.1:$port/xmpp-websocket") ;;
	prosody-ws) flags+=(-prosody-ws "$WS_URL") ;;
	bridge-bosh) flags+=(-bridge-bosh "http://127.0.0.1:$port/http-bind") ;;
	prosody-bosh) flags+=(-prosody-bosh "$BOSH_URL") ;;
	bridge-json) flags+=(-bridge-json "ws://127.0.0.1:$port/json/ws") ;;
	*) echo "bench-load: unknown path $p" >&2; exit 2 ;;
	esac
done
"${pin_tool[@]}" "$dir/bench" load "${flags[@]}" -bridge-pid "$bridge" -testbed "$dir/prosody" \
	-n "$n" -rate "$rate" -duration "$duration" ${EACH:+-each} ${JSON:+-json "$JSON"}
