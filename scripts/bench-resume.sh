#!/usr/bin/env bash
# Memory per detached JSON session and the time from reconnect to resumed.
# Starts a private Prosody and the bridge in front of it (plaintext over
# loopback, as on the server's own box), and has xmppbridge-bench resume log
# N users in over the JSON API's WebSocket (TRANSPORT ws) or long-poll
# (poll), cut every connection without a word to the bridge, wait until the
# bridge's metrics count every session detached (at once on a WebSocket;
# after [json] inactivity, 60 s, on long-poll), and resume each on a fresh
# connection, CONCURRENCY at a time. Prints markdown tables, then the run
# as JSON. Cleans up after itself.
#   scripts/bench-resume.sh [N [CONCURRENCY [TRANSPORT]]]   defaults: 1000 50 ws; N at most 9000
# Environment:
#   HOLD=DUR    how long before each memory reading (3s)
#   PPROF=ADDR  the bridge's pprof, which the tool reads too: the Go heap
#               and stacks in use after a forced collection, beside RSS
#   BRIDGE_BIN  a daemon binary to run
#               instead of building ./cmd/xmppbridge
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000}"
conc="${2:-50}"
transport="${3:-ws}"
case "$transport" in
ws) url_path=json/ws scheme=ws ;;
poll) url_path=json scheme=http ;;
*) echo "bench-resume: TRANSPORT is ws or poll" >&2; exit 2 ;;
esac
. scripts/lib-bench.sh
bench_init
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
# The tool waits on the bridge's metrics for the sessions to be detached:
# they get a listener of their own, off the default port, which another
# bridge on the machine may hold. The flag goes last, through a wrapper
# run as bench_bridge's command, so that it wins over any -metrics that
# lib-bench.sh passes.
mport=$(free_port)
cat >"$dir/with-metrics" <<SH
#!/bin/sh
exec "\$@" -metrics 127.0.0.1:$mport
SH
chmod +x "$dir/with-metrics"
bench_prosody prosody-json "$n"
bench_bridge "$n" "$dir/with-metrics"
run() {
	"$dir/bench" resume -n "$n" -concurrency "$conc" -domain "$DOMAIN" \
		-transport "$transport" -url "$scheme://127.0.0.1:$port/$url_path" -pid "$bridge" -server-pid "$PID" \
		-metrics "http://127.0.0.1:$mport/metrics" ${HOLD:+-settle "$HOLD"} ${PPROF:+-pprof "$PPROF"} "$@"
}
echo "$n sessions over the JSON API ($transport), resumed $conc at a time; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
run -format table
