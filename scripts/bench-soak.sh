#!/usr/bin/env bash
# Soak with faults: every transport of the bridge at a moderate rate for a
# long while, with faults injected on a schedule. Starts a private Prosody,
# writes N users into its storage, runs the bridge in front of it
# (plaintext over loopback, with -pprof for its goroutine count), and has
# xmppbridge-bench soak keep N users logged in, dealt out in turn over
# bridge-ws (RFC 7395), bridge-bosh (hold=1, as Strophe.js), bridge-json
# (the JSON API over WebSocket), bridge-sse (Server-Sent Events with POSTs
# up) and bridge-poll (JSON long-polling), each sending to a partner on
# another path, RATE messages per second in all, for DURATION. Meanwhile it
# drops browsers, stalls readers, sends malformed input, restarts Prosody on
# the same ports and hangs it with SIGSTOP, and has a few senders send
# poison stanzas (payloads in the XML namespace). It reports, per path,
# messages lost, duplicated and reordered among those no fault excuses,
# sessions that ended with no fault on them or the server, and the bridge's
# RSS, descriptors and goroutines over time, which must come back to the
# baseline once the sessions are closed. Exits non-zero when any of that
# fails. Cleans up after itself.
#   scripts/bench-soak.sh [N [RATE [DURATION]]]     defaults: 250 100 30m
# The short form CI runs is cmd/xmppbridge-bench/soak_integration_test.go;
# by hand, e.g. scripts/bench-soak.sh 100 50 90s with
# SOAK_FLAGS="-server-every 45s -drop-every 10s -malformed-every 10s".
# Environment:
#   PATHS       the paths, default "bridge-ws bridge-bosh bridge-json bridge-sse bridge-poll"
#   SOAK_FLAGS  more flags for the soak subcommand (xmppbridge-bench soak -h)
#   KEEPALIVE=D the bridge's [upstream] keepalive and keepalive_timeout, both
#               D: a hang (-hang) longer than 3 × D ends the sessions with
#               remote-connection-failed, a shorter one must lose nothing
#   JSON=FILE   the results as JSON
#   BRIDGE_BIN  a daemon binary to run instead of building ./cmd/xmppbridge
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-250}"
rate="${2:-100}"
duration="${3:-30m}"
paths="${PATHS:-bridge-ws bridge-bosh bridge-json bridge-sse bridge-poll}"
. scripts/lib-bench.sh
bench_init
bench_prosody prosody "$n"
PPROF=127.0.0.1:$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
if [ -n "${KEEPALIVE:-}" ]; then
	BRIDGE_TOML=$(printf '[upstream]\nkeepalive = "%s"\nkeepalive_timeout = "%s"' "$KEEPALIVE" "$KEEPALIVE")
	export BRIDGE_TOML
fi
# Room for the sessions of dropped browsers, which the bridge holds until
# their inactivity timeout or the user's next login.
bench_bridge $((2 * n))
# shellcheck disable=SC2086 # one word per path
bench_path_flags $paths
# shellcheck disable=SC2086 # SOAK_FLAGS is a list of flags
"$dir/bench" soak "${flags[@]}" -bridge-pid "$bridge" -pprof "$PPROF" \
	-testbed "$dir/prosody" -testbed-script scripts/testbed.sh \
	-n "$n" -rate "$rate" -duration "$duration" ${JSON:+-json "$JSON"} ${SOAK_FLAGS:-}
