#!/usr/bin/env bash
# Memory per detached JSON session and the time from reconnect to resumed.
# Starts a private Prosody and the bridge in front of it (plaintext over
# loopback, as on the server's own box), and has xmppbridge-bench resume log
# N users in over the JSON API's WebSocket, cut every connection without a
# close frame, wait until the bridge's metrics count every session detached,
# and resume each on a fresh WebSocket, CONCURRENCY at a time. Prints a
# markdown tables, then the run as JSON. Cleans up after itself.
#   scripts/bench-resume.sh [N [CONCURRENCY]]     defaults: 1000 50; N at most 9000
# Environment:
#   HOLD=DUR    how long before each memory reading (3s)
#   PPROF=ADDR  the bridge's pprof;  BRIDGE_BIN  a daemon binary to run
#               instead of building ./cmd/xmppbridge
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000}"
conc="${2:-50}"
. scripts/lib-bench.sh
bench_init
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# A metrics listener of its own, off the default port, which another bridge
# on the machine may hold.
mport=$(free_port)
BRIDGE_TOML="${BRIDGE_TOML:-}
[metrics]
listen = \"127.0.0.1:$mport\""
bench_prosody prosody-json "$n"
bench_bridge "$n"
run() {
	"$dir/bench" resume -n "$n" -concurrency "$conc" -domain "$DOMAIN" \
		-url "ws://127.0.0.1:$port/json/ws" -pid "$bridge" -server-pid "$PID" \
		-metrics "http://127.0.0.1:$mport/metrics" ${HOLD:+-settle "$HOLD"} "$@"
}
echo "$n sessions over the JSON API's WebSocket, resumed $conc at a time; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
run -format table
