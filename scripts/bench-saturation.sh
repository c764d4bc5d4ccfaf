#!/usr/bin/env bash
# Saturation: the highest message rate each path sustains, one path at a
# time against the same Prosody, to see whether putting the bridge in front
# of Prosody carries more than Prosody's own WebSocket and BOSH endpoints.
# Starts a private Prosody pinned to CPU 0 (it is single-threaded), the
# bridge pinned to CPU 1, and xmppbridge-bench load -ramp, also on CPU 1
# unless TOOL_CPUS says otherwise, so that Prosody has a core to itself on
# every path and the bridge shares its core with the load tool. N sessions
# are dealt out over bridge-ws, prosody-ws, bridge-bosh and prosody-bosh and
# held; then each path in turn is stepped from START msg/s up by a factor of
# 1.6 in 5-second steps until a step fails (a message lost or reordered, p99
# over 1 s, the receivers or the senders falling behind); a failed step is
# run once more before it counts, and two bisection steps narrow the rate
# down (if the first step fails, it steps down instead). On a machine
# shared with other work, a step that fails while other processes keep more
# than a quarter of a core busy is run again once they are quiet (twice at
# most) and marked "disturbed". Prints every step, then the saturation
# rates with the offload ratios. Cleans up after itself; the load tool stops
# itself after 8 minutes, so the script ends within 9.
#   scripts/bench-saturation.sh [N [START]]      defaults: 2000 1000
# Environment:
#   PATHS      the paths, default "bridge-ws prosody-ws bridge-bosh prosody-bosh"
#   TOOL_CPUS  CPUs for the load tool (taskset -c list), default 1
#   JSON=FILE  the results as JSON;  PPROF=ADDR  the bridge's pprof
#   BRIDGE_BIN a daemon binary to run instead of building ./cmd/xmppbridge
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-2000}"
start="${2:-1000}"
paths="${PATHS:-bridge-ws prosody-ws bridge-bosh prosody-bosh}"
tool_cpus="${TOOL_CPUS:-1}"
[ "$(nproc)" -ge 2 ] || { echo "bench-saturation: needs two CPUs" >&2; exit 2; }
. scripts/lib-bench.sh
bench_init
bench_prosody prosody "$n"
taskset -a -pc 0 "$PID" >/dev/null
bench_bridge "$n" taskset -c 1
# shellcheck disable=SC2086 # one word per path
bench_path_flags $paths
echo "Prosody pid $PID on CPU $(taskset -pc "$PID" | sed 's/.*: //'), bridge pid $bridge on CPU 1, load tool on CPU $tool_cpus" >&2
taskset -c "$tool_cpus" "$dir/bench" load -ramp "${flags[@]}" -bridge-pid "$bridge" -testbed "$dir/prosody" \
	-n "$n" -hold 3s -drain 5s -ramp-start "$start" -ramp-factor 1.6 -ramp-max 20000 -ramp-refine 2 \
	-ramp-step 5s -ramp-p99 1s -ramp-retry 1 -ramp-others 25 -ramp-disturbed 2 -senders 4 -timeout 8m ${JSON:+-json "$JSON"}
