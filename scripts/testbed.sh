#!/usr/bin/env bash
# testbed.sh: a private Prosody on loopback for integration and interop tests.
#
#   scripts/testbed.sh start DIR              start one, print KEY=VALUE lines
#   scripts/testbed.sh stop DIR               stop it and wait until it is gone
#   scripts/testbed.sh adduser DIR USER PASS  register another user
#   scripts/testbed.sh friends DIR [USER...]  make alice, bob and carol (or the
#                                             users named) each other's contacts
#                                             (before they log in)
#   scripts/testbed.sh install                install what it needs (apt, as root)
#
# Everything of one instance lives in DIR: config, data, pid file, logs,
# and a self-signed certificate for "localhost" (DIR/localhost.crt, usable as
# a CA file). Several instances can run at once, each with its own DIR.
#
# start prints, on stdout only, lines a program can read:
#   DOMAIN=localhost
#   C2S_ADDR=127.0.0.1:PORT
#   WS_URL=ws://127.0.0.1:PORT/xmpp-websocket
#   BOSH_URL=http://127.0.0.1:PORT/http-bind
#   CA_FILE=DIR/localhost.crt
#   PID=PID
# The same lines are kept in DIR/testbed.env.
#
# Environment:
#   C2S_PORT, HTTP_PORT  fixed ports instead of free ones picked at random
#   TESTBED_LOG_LEVEL    Prosody's minimum log level (default info)
#   TESTBED_REQUIRE_TLS  set to 1 to make c2s require STARTTLS (as most
#                        production servers do): no SASL before TLS
#   TESTBED_OWNER_PID    stop Prosody when this process is gone, so a test
#                        binary that is killed leaves no server behind
#   TESTBED_NO_INSTALL   set to 1 to never call apt-get

set -euo pipefail

readonly DOMAIN=localhost
readonly PASSWORD=secret
readonly USERS=(alice bob carol)
# Seconds to wait for Prosody to listen, and to exit after SIGTERM.
readonly START_TIMEOUT=30
readonly STOP_TIMEOUT=15
readonly PORT_ATTEMPTS=8

die() {
	echo "testbed: $*" >&2
	exit 1
}

usage() {
	sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# ---------------------------------------------------------------- install

install_packages() {
	local missing=()
	if ! command -v prosody >/dev/null 2>&1 || ! command -v prosodyctl >/dev/null 2>&1; then
		missing+=(prosody)
	fi
	command -v openssl >/dev/null 2>&1 || missing+=(openssl)
	command -v ss >/dev/null 2>&1 || missing+=(iproute2)
	if [ ${#missing[@]} -eq 0 ]; then
		return 0
	fi
	if [ "${TESTBED_NO_INSTALL:-}" = 1 ] || [ "$(id -u)" != 0 ]; then
		die "missing: ${missing[*]} (install them, e.g. as root: scripts/testbed.sh install)"
	fi
	echo "testbed: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	# One retry: a mirror can be briefly out of sync during an update.
	apt-get update -qq >&2 || { sleep 5; apt-get update -qq >&2; }
	# mod_smacks (stream management) ships with Prosody since 0.12, so
	# prosody-modules is not needed. The package starts the system-wide
	# Prosody where an init system allows it; that one listens on the
	# default ports and does not disturb ours.
	apt-get install -y -qq -o Dpkg::Use-Pty=0 "${missing[@]}" >&2
}

# ---------------------------------------------------------------- utilities

# alive PID: the process exists and is not a zombie. A container whose init
# does not reap can keep a dead Prosody as a zombie, which kill -0 still sees.
alive() {
	local pid=$1 state
	kill -0 "$pid" 2>/dev/null || return 1
	state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null || true)
	[ "$state" != Z ] && [ "$state" != X ]
}

# ours PID CFG: PID is a Prosody started with our config file, so a stale
# pid file whose number was reused never makes us kill a stranger.
ours() {
	local pid=$1 cfg=$2
	alive "$pid" || return 1
	tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$cfg"
}

# lua_string S: S as a double-quoted Lua string literal.
lua_string() {
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	printf '"%s"' "$s"
}

# listening_pid PORT: the pid of the process listening on 127.0.0.1:PORT.
listening_pid() {
	ss -Htlnp "sport = :$1" 2>/dev/null | sed -n 's/.*pid=\([0-9][0-9]*\),.*/\1/p' | head -n1
}

port_free() {
	[ -z "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
}

# random_port: sets PORT to a currently free port below the kernel's
# ephemeral range, so no outgoing connection can take it between our choice
# and Prosody's bind. It sets a variable rather than printing, because
# $RANDOM in a command substitution need not differ between two calls.
random_port() {
	local lo=10000 hi eph_lo p _
	eph_lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	hi=$((eph_lo - 1))
	[ "$hi" -gt 65535 ] && hi=65535
	if [ "$hi" -le $((lo + 1000)) ]; then
		lo=1025
	fi
	for _ in $(seq 1 200); do
		p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
		if port_free "$p"; then
			PORT=$p
			return 0
		fi
	done
	die "no free port found between $lo and $hi"
}

log_tail() {
	local f
	for f in "$DIR/prosody.log" "$DIR/prosody.out"; do
		[ -s "$f" ] || continue
		echo "--- last lines of $f" >&2
		tail -n 30 "$f" >&2
	done
}

# ---------------------------------------------------------------- setup

make_cert() {
	[ -s "$DIR/localhost.crt" ] && [ -s "$DIR/localhost.key" ] && return 0
	# A self-signed certificate that is its own CA: a client that trusts
	# localhost.crt verifies the server with ServerName "localhost". EC keys
	# are made at once, where RSA can take a second on a busy machine.
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-days 3650 -subj "/CN=$DOMAIN" \
		-addext "subjectAltName=DNS:$DOMAIN,IP:127.0.0.1" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,digitalSignature,keyCertSign" \
		-addext "extendedKeyUsage=serverAuth" \
		-keyout "$DIR/localhost.key.tmp" -out "$DIR/localhost.crt.tmp" 2>"$DIR/openssl.log" ||
		{ cat "$DIR/openssl.log" >&2; die "openssl could not make a certificate"; }
	chmod 600 "$DIR/localhost.key.tmp"
	chmod 644 "$DIR/localhost.crt.tmp"
	mv "$DIR/localhost.key.tmp" "$DIR/localhost.key"
	mv "$DIR/localhost.crt.tmp" "$DIR/localhost.crt"
}

write_config() {
	local c2s=$1 http=$2 root_line=""
	# mod_posix refuses to run as root unless told to (prosody.im/doc/root),
	# and prosodyctl run as root switches to the "prosody" user, which cannot
	# enter a private directory such as a Go test's t.TempDir() (mode 0700).
	# Running everything as the invoking user avoids both problems.
	if [ "$(id -u)" = 0 ]; then
		root_line="run_as_root = true"
	fi
	cat >"$CFG.tmp" <<EOF
-- Written by scripts/testbed.sh start; rewritten on every start.
$root_line
pidfile = $(lua_string "$DIR/prosody.pid")
data_path = $(lua_string "$DIR/data")
certificates = $(lua_string "$DIR")
log = {
	{ levels = { min = $(lua_string "${TESTBED_LOG_LEVEL:-info}") }, to = "file", filename = $(lua_string "$DIR/prosody.log") };
}

network_backend = "epoll"
-- Bursts of connections from load and interop tests must not be refused.
network_settings = { tcp_backlog = 4096 }

interfaces = { "127.0.0.1" }
c2s_ports = { $c2s }
http_ports = { $http }
http_interfaces = { "127.0.0.1" }
https_ports = { }
http_default_host = "localhost"

-- STARTTLS is offered on c2s but not required, so tests can use both a TLS
-- and a loopback-plaintext upstream. SCRAM works without TLS in any case;
-- PLAIN without TLS is allowed too, as on the reference captures.
c2s_require_encryption = $([ "${TESTBED_REQUIRE_TLS:-}" = 1 ] && echo true || echo false)
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
storage = "internal"

-- The browser side reaches Prosody through a proxy or the bridge on
-- loopback: treat those transports as secure and allow any Origin. (In 0.12
-- the cross_domain_* options only log that they are deprecated; mod_http
-- sends CORS headers for any Origin by default.)
consider_websocket_secure = true
consider_bosh_secure = true
cross_domain_websocket = true
cross_domain_bosh = true

-- No mod_limits, no mod_mam (archives would add stanza-id and slow tests
-- down), no s2s. Stream management (mod_smacks) is part of Prosody since 0.12.
modules_enabled = {
	"roster"; "saslauth"; "tls"; "disco"; "carbons"; "ping"; "private";
	"blocklist"; "vcard4"; "vcard_legacy"; "version"; "uptime"; "time";
	"csi_simple"; "smacks"; "http"; "bosh"; "websocket"; "posix";
}
modules_disabled = { "s2s" }

ssl = {
	certificate = $(lua_string "$DIR/localhost.crt");
	key = $(lua_string "$DIR/localhost.key");
}

VirtualHost "localhost"
EOF
	mv "$CFG.tmp" "$CFG"
}

register() {
	local user=$1 pass=$2 out
	if ! out=$(prosodyctl --config "$CFG" register "$user" "$DOMAIN" "$pass" 2>&1 </dev/null); then
		echo "$out" >&2
		die "prosodyctl could not register $user@$DOMAIN"
	fi
}

# launch C2S HTTP: start Prosody and wait until it listens on both ports,
# then set PID. PID stays empty (and Prosody is stopped again) when another
# process holds a port. It reports through PID rather than its exit status
# because a function called as a condition runs without set -e.
launch() {
	local c2s=$1 http=$2 pid deadline p owner
	PID=
	write_config "$c2s" "$http"
	: >"$DIR/prosody.log"
	# -F: stay in the foreground, as our child; we keep the pid. All three
	# standard streams are redirected, so a caller reading our stdout (a Go
	# test) is not kept waiting by the server that outlives us.
	prosody --config "$CFG" -F </dev/null >"$DIR/prosody.out" 2>&1 &
	pid=$!
	echo "$pid" >"$DIR/testbed.pid"
	deadline=$((SECONDS + START_TIMEOUT))
	while :; do
		if ! alive "$pid"; then
			wait "$pid" 2>/dev/null || true
			log_tail
			die "prosody exited during start"
		fi
		if grep -q "Failed to open server port" "$DIR/prosody.log" 2>/dev/null; then
			stop_pid "$pid"
			return 0
		fi
		local ready=1
		for p in "$c2s" "$http"; do
			owner=$(listening_pid "$p")
			if [ -z "$owner" ]; then
				ready=0
			elif [ "$owner" != "$pid" ]; then
				# Someone else took the port first.
				stop_pid "$pid"
				return 0
			fi
		done
		if [ "$ready" = 1 ] && (exec 3<>"/dev/tcp/127.0.0.1/$c2s") 2>/dev/null &&
			(exec 3<>"/dev/tcp/127.0.0.1/$http") 2>/dev/null; then
			PID=$pid
			return 0
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			stop_pid "$pid"
			log_tail
			die "prosody did not listen on 127.0.0.1:$c2s and :$http within ${START_TIMEOUT}s"
		fi
		sleep 0.1
	done
}

# stop_pid PID: SIGTERM, wait, and SIGKILL if it will not go.
stop_pid() {
	local pid=$1 deadline
	alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	deadline=$((SECONDS + STOP_TIMEOUT))
	while alive "$pid"; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "testbed: prosody $pid ignored SIGTERM for ${STOP_TIMEOUT}s, killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
			sleep 0.2
			break
		fi
		sleep 0.1
	done
	# Reaps it when it is our own child; harmless otherwise.
	wait "$pid" 2>/dev/null || true
}

# watch_owner: in the background, stop Prosody once TESTBED_OWNER_PID is gone.
watch_owner() {
	local owner=$1
	alive "$owner" || die "TESTBED_OWNER_PID $owner is not a running process"
	(
		trap '' HUP INT
		while alive "$owner" && alive "$PID"; do
			sleep 1
		done
		if ours "$PID" "$CFG"; then
			stop_pid "$PID"
		fi
	) </dev/null >/dev/null 2>&1 &
	echo $! >"$DIR/watcher.pid"
}

# ---------------------------------------------------------------- commands

set_dir() {
	[ -n "${1:-}" ] || usage
	mkdir -p -- "$1"
	DIR=$(cd -- "$1" && pwd -P)
	CFG=$DIR/prosody.cfg.lua
}

running_pid() {
	local pid
	pid=$(cat "$DIR/testbed.pid" 2>/dev/null || true)
	if [ -n "$pid" ] && ours "$pid" "$CFG"; then
		echo "$pid"
	fi
}

cmd_start() {
	set_dir "${1:-}"
	install_packages
	local pid
	pid=$(running_pid)
	[ -z "$pid" ] || die "a testbed is already running in $DIR (pid $pid); stop it first"
	rm -f "$DIR/testbed.env" "$DIR/watcher.pid"
	mkdir -p "$DIR/data"
	make_cert

	local c2s http attempt=1 fixed=0
	if [ -n "${C2S_PORT:-}" ] || [ -n "${HTTP_PORT:-}" ]; then
		fixed=1
	fi
	while :; do
		c2s=${C2S_PORT:-}
		http=${HTTP_PORT:-}
		while [ -z "$c2s" ] || [ -z "$http" ] || [ "$c2s" = "$http" ]; do
			[ -n "${C2S_PORT:-}" ] || { random_port; c2s=$PORT; }
			[ -n "${HTTP_PORT:-}" ] || { random_port; http=$PORT; }
			[ "$c2s" != "$http" ] || [ "$fixed" = 0 ] || die "C2S_PORT and HTTP_PORT must differ"
		done
		if [ "$attempt" = 1 ]; then
			# Registration needs the config (for data_path) but not the server.
			write_config "$c2s" "$http"
			for u in "${USERS[@]}"; do
				register "$u" "$PASSWORD"
			done
		fi
		launch "$c2s" "$http"
		[ -z "$PID" ] || break
		[ "$fixed" = 0 ] || { log_tail; die "port $c2s or $http is taken by another process"; }
		attempt=$((attempt + 1))
		[ "$attempt" -le "$PORT_ATTEMPTS" ] || die "no free pair of ports after $PORT_ATTEMPTS attempts"
		echo "testbed: ports $c2s/$http were taken, trying others" >&2
	done

	if [ -n "${TESTBED_OWNER_PID:-}" ]; then
		watch_owner "$TESTBED_OWNER_PID"
	fi

	cat >"$DIR/testbed.env" <<EOF
DOMAIN=$DOMAIN
C2S_ADDR=127.0.0.1:$c2s
WS_URL=ws://127.0.0.1:$http/xmpp-websocket
BOSH_URL=http://127.0.0.1:$http/http-bind
CA_FILE=$DIR/localhost.crt
PID=$PID
EOF
	cat "$DIR/testbed.env"
}

cmd_stop() {
	set_dir "${1:-}"
	local pid wpid
	wpid=$(cat "$DIR/watcher.pid" 2>/dev/null || true)
	if [ -n "$wpid" ] && alive "$wpid" && tr '\0' ' ' <"/proc/$wpid/cmdline" | grep -q testbed.sh; then
		kill "$wpid" 2>/dev/null || true
	fi
	rm -f "$DIR/watcher.pid"
	pid=$(running_pid)
	if [ -z "$pid" ]; then
		echo "testbed: nothing running in $DIR" >&2
	else
		stop_pid "$pid"
		alive "$pid" && die "prosody $pid is still running"
	fi
	rm -f "$DIR/testbed.pid" "$DIR/testbed.env"
}

cmd_adduser() {
	[ $# -eq 3 ] || usage
	set_dir "$1"
	[ -s "$CFG" ] || die "no testbed in $DIR (run start first)"
	register "$2" "$3"
}

# cmd_friends writes the rosters of the standard users (or of the users
# named) straight into Prosody's file storage: each has the others,
# subscription both, in group "Friends". Prosody reads a roster from storage
# when its user logs in, so this is for users who have not logged in yet.
cmd_friends() {
	[ $# -ge 1 ] || usage
	set_dir "$1"
	shift
	[ -s "$CFG" ] || die "no testbed in $DIR (run start first)"
	local dir="$DIR/data/$DOMAIN/roster" u c
	local users=("${USERS[@]}")
	[ $# -eq 0 ] || users=("$@")
	mkdir -p "$dir"
	for u in "${users[@]}"; do
		# Prosody's file storage writes every byte of a name that is not
		# a letter or a digit as %xx.
		local file="" i ch
		for ((i = 0; i < ${#u}; i++)); do
			ch=${u:i:1}
			if [[ $ch =~ [A-Za-z0-9] ]]; then file+=$ch; else file+=$(printf '%%%02x' "'$ch"); fi
		done
		{
			printf 'return {\n\t[false] = {\n\t\t["pending"] = {};\n\t\t["version"] = 1;\n\t};\n'
			for c in "${users[@]}"; do
				[ "$c" != "$u" ] || continue
				printf '\t["%s@%s"] = {\n\t\t["groups"] = {\n\t\t\t["Friends"] = true;\n\t\t};\n' "$c" "$DOMAIN"
				printf '\t\t["subscription"] = "both";\n\t\t["name"] = "%s";\n\t};\n' "${c^}"
			done
			printf '};\n'
		} >"$dir/$file.dat"
	done
	# Prosody, started as root, runs as the prosody user.
	chown -R --reference="$DIR/data" "$dir" 2>/dev/null || true
}

case "${1:-}" in
start) shift; [ $# -eq 1 ] || usage; cmd_start "$@" ;;
stop) shift; [ $# -eq 1 ] || usage; cmd_stop "$@" ;;
adduser) shift; cmd_adduser "$@" ;;
friends) shift; cmd_friends "$@" ;;
install) install_packages ;;
*) usage ;;
esac
