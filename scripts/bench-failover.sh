#!/usr/bin/env bash
# Failover: a bridge process killed under load, its sessions resumed on the
# other. Starts a private Prosody, two bridges in front of it on loopback
# (a1 and a2: one [cluster] with the same [json] resume_key, plaintext to
# Prosody as on the server's own box) and HAProxy in front of both, with
# the shipped examples/haproxy/haproxy.cfg (round-robin, no sticky
# sessions) bound to loopback. xmppbridge-bench failover logs N users in
# through HAProxy only, dealt out in turn over the JSON API's WebSocket,
# events stream (SSE with posts up) and long-poll, and XMPP over WebSocket
# (RFC 7395) and BOSH, has pairs of them exchange numbered messages, RATE
# a second in all, kills a1 with SIGKILL after BEFORE, goes on for AFTER,
# and counts what the pages saw: every JSON page whose connection failed
# resumes through HAProxy with its token, its counts and the frames it has
# not seen confirmed (docs/json-api.md, "Resuming a session"), a2 resuming
# the server's stream with XEP-0198 where a1 held the session; every XML
# client does its own XEP-0198 and resumes Prosody's session on a new
# stream through a2. Prints markdown tables: per transport the
# sessions that had to resume, resumed, or logged in again, the time from
# the kill to each resumed (p50/p99/max), and messages lost, duplicated and
# reordered. Exits non-zero if a page that resumed (or never broke) lost,
# doubled or reordered a message. Cleans up after itself.
#   scripts/bench-failover.sh [N [RATE]]        defaults: 1000 200; N at most 6000
# Environment:
#   BEFORE=D, AFTER=D  messages before and after the kill (20s, 30s)
#   TRANSPORTS         the transports, default ws,sse,poll,xmlws,bosh
#   FAILOVER_FLAGS     more flags for the failover subcommand (-h)
#   JSON=FILE          the results as JSON
#   LOGDIR=DIR         keep the bridges' logs there (a1.log, a2.log)
#   BRIDGE_BIN         a daemon binary to run instead of building ./cmd/xmppbridge
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-1000}"
rate="${2:-200}"
command -v haproxy >/dev/null || { echo "bench-failover: needs haproxy (scripts/testbed.sh lists what to install)" >&2; exit 2; }
. scripts/lib-bench.sh
bench_init
haproxy_pid=
stop_haproxy() {
	if [ -n "$haproxy_pid" ]; then
		kill "$haproxy_pid" 2>/dev/null || true
		wait "$haproxy_pid" 2>/dev/null || true
	fi
}
trap 'stop_haproxy; bench_cleanup' EXIT
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
bench_prosody prosody "$n"
p1=$(free_port)
p2=$(free_port)
hport=$(free_port)
BRIDGE_JSON='resume_key = "a key the two bridges share, 32 bytes or more"'
# HAProxy names the client (option forwardfor): the limits on logins in
# progress count per client address, as behind a balancer in production.
BRIDGE_TOP='trusted_proxies = ["127.0.0.1"]'
export BRIDGE_JSON BRIDGE_TOP
# Each bridge's log to a file of its own: the survivor warns of every
# request it could not forward to the dead one.
cat >"$dir/logged" <<'SH'
#!/bin/sh
log=$1
shift
exec "$@" >"$log" 2>&1
SH
chmod +x "$dir/logged"
logdir=${LOGDIR:-$dir}
mkdir -p "$logdir"
for node in a1 a2; do
	BRIDGE_TOML=$(printf '[cluster]\nnode = "%s"\n[cluster.peers]\na1 = "http://127.0.0.1:%s"\na2 = "http://127.0.0.1:%s"' "$node" "$p1" "$p2")
	if [ "$node" = a1 ]; then port_of=$p1; else port_of=$p2; fi
	BRIDGE_TOML="$BRIDGE_TOML" BRIDGE_PORT=$port_of bench_bridge "$n" "$dir/logged" "$logdir/$node.log"
	if [ "$node" = a1 ]; then a1=$bridge; else a2=$bridge; fi
done
# The shipped example, on loopback.
sed -e "s/10\.0\.0\.11:5280/127.0.0.1:$p1/" -e "s/10\.0\.0\.12:5280/127.0.0.1:$p2/" \
	-e "s/bind :80/bind 127.0.0.1:$hport/" -e "s|/run/haproxy-xmppbridge.sock|$dir/haproxy.sock|" \
	examples/haproxy/haproxy.cfg >"$dir/haproxy.cfg"
haproxy -c -q -f "$dir/haproxy.cfg"
haproxy -W -db -f "$dir/haproxy.cfg" </dev/null >"$dir/haproxy.log" 2>&1 &
haproxy_pid=$!
for _ in $(seq 50); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$hport/readyz")" = 200 ] && break
	sleep 0.1
done
echo "$n sessions through HAProxy to bridges a1 (pid $a1, port $p1) and a2 (pid $a2, port $p2), $rate msg/s; a1 is killed; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
status=0
# shellcheck disable=SC2086 # FAILOVER_FLAGS is a list of flags
"$dir/bench" failover -ws "ws://127.0.0.1:$hport/json/ws" -http "http://127.0.0.1:$hport/json" \
	-xmlws "ws://127.0.0.1:$hport/xmpp-websocket" -bosh "http://127.0.0.1:$hport/http-bind" \
	-domain "$DOMAIN" -n "$n" -rate "$rate" -kill-pid "$a1" -kill-node a1 \
	${BEFORE:+-before "$BEFORE"} ${AFTER:+-after "$AFTER"} ${TRANSPORTS:+-transports "$TRANSPORTS"} \
	${JSON:+-json "$JSON"} ${FAILOVER_FLAGS:-} || status=$?
echo
echo "a2's log: $(grep -c 'owner unreachable' "$logdir/a2.log" || true) requests for a1's sessions answered by a2; other warnings and errors:"
grep -v 'owner unreachable' "$logdir/a2.log" | sed -e 's/^time=[^ ]* //' -e 's/ session=[0-9]*//' | cut -c1-300 | sort | uniq -c | sort -rn | head -20 || true
exit $status
