# shellcheck shell=bash
# Shared by the benchmark scripts (sourced, not run): a private Prosody per
# run, the bridge in front of it (plaintext over loopback, as on the
# server's own box), the load tool, and cleaning up after all of them.
#   bench_init                 temporary dir $dir, cleanup on exit, binaries
#                              $dir/xmppbridge (BRIDGE_BIN, or built) and
#                              $dir/bench
#   bench_prosody NAME N       a fresh testbed Prosody in $dir/NAME with N
#                              users; sets DOMAIN, C2S_ADDR, WS_URL, BOSH_URL, PID
#   bench_bridge N [CMD...]    the bridge for N sessions in front of the
#                              Prosody last started, run under CMD (e.g.
#                              taskset -c 1), with BRIDGE_TOML (TOML tables)
#                              added to its config, BRIDGE_TOP (keys) to
#                              its top level and BRIDGE_JSON (keys) to its
#                              [json] table, on BRIDGE_PORT if set;
#                              sets port and bridge. Called again, it starts
#                              another beside the first.
#                              BRIDGE_LOG_LEVEL is its log_level (warn).
#   bench_bridge_stop          stops every bridge started
#   bench_path_flags PATH...   the load tool's flags for those paths; sets flags

bench_init() {
	dir=$(mktemp -d)
	bridge=
	bridges=()
	trap bench_cleanup EXIT
	# Prosody's own log at info level writes a line per connection; keep
	# the disk out of the measurement.
	export TESTBED_LOG_LEVEL="${TESTBED_LOG_LEVEL:-warn}"
	if [ -n "${BRIDGE_BIN:-}" ]; then
		cp "$BRIDGE_BIN" "$dir/xmppbridge"
	else
		go build -o "$dir/xmppbridge" ./cmd/xmppbridge
	fi
	go build -o "$dir/bench" ./cmd/xmppbridge-bench
}

bench_cleanup() {
	bench_bridge_stop
	for p in "$dir"/prosody*; do
		if [ -d "$p" ]; then
			scripts/testbed.sh stop "$p" >/dev/null 2>&1 || true
		fi
	done
	rm -rf "$dir"
}

bench_prosody() {
	mkdir -p "$dir/$1"
	eval "$(scripts/testbed.sh start "$dir/$1")"
	# prosodyctl register takes tens of milliseconds a user; the bench tool
	# writes the accounts in Prosody's internal_hashed format directly, and
	# Prosody reads account files afresh at each login.
	"$dir/bench" users -testbed "$dir/$1" -n "$2"
}

bench_bridge() {
	local n=$1
	shift
	port=${BRIDGE_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
	local cfg="$dir/bridge.toml"
	if [ "${#bridges[@]}" -gt 0 ]; then
		cfg="$dir/bridge-$port.toml"
	fi
	cat >"$cfg" <<TOML
listen = "127.0.0.1:0"
log_level = "${BRIDGE_LOG_LEVEL:-warn}"
allow_any_domain = false
${BRIDGE_TOP:-}
[limits]
max_sessions = $((n + 100))
# The load comes from a few loopback addresses, thousands of users each:
# the per-address limits, which would take it for an attack, are off.
sessions_per_address = -1
opens_per_minute = -1
reserved_sessions = -1
[json]
# Served by default; the path is the one bench_path_flags points at.
path = "/json"
${BRIDGE_JSON:-}
[domain."$DOMAIN"]
address = "$C2S_ADDR"
security = "plaintext"
TOML
	if [ -n "${BRIDGE_TOML:-}" ]; then
		printf '%s\n' "$BRIDGE_TOML" >>"$cfg"
	fi
	# No metrics listener: its fixed default port would clash with another
	# bridge on the machine, and the figures are read from /proc.
	"$@" "$dir/xmppbridge" -config "$cfg" -listen "127.0.0.1:$port" -metrics off ${PPROF:+-pprof "$PPROF"} &
	bridge=$!
	bridges+=("$bridge")
	for _ in $(seq 50); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
}

bench_bridge_stop() {
	local b
	for b in ${bridges[@]+"${bridges[@]}"}; do
		kill "$b" 2>/dev/null || true
		wait "$b" 2>/dev/null || true
	done
	bridge=
	bridges=()
}

bench_path_flags() {
	flags=()
	local p
	for p in "$@"; do
		case "$p" in
		bridge-ws) flags+=(-bridge-ws "ws://127.0.0.1:$port/xmpp-websocket") ;;
		prosody-ws) flags+=(-prosody-ws "$WS_URL") ;;
		bridge-bosh) flags+=(-bridge-bosh "http://127.0.0.1:$port/http-bind") ;;
		prosody-bosh) flags+=(-prosody-bosh "$BOSH_URL") ;;
		bridge-json) flags+=(-bridge-json "ws://127.0.0.1:$port/json/ws") ;;
		bridge-sse) flags+=(-bridge-sse "http://127.0.0.1:$port/json") ;;
		bridge-poll) flags+=(-bridge-poll "http://127.0.0.1:$port/json") ;;
		*) echo "$(basename "$0"): unknown path $p" >&2; exit 2 ;;
		esac
	done
}
