#!/usr/bin/env bash
# testbed.sh: a private Prosody or ejabberd on loopback for integration and
# interop tests.
#
#   scripts/testbed.sh start DIR              start one, print KEY=VALUE lines
#   scripts/testbed.sh stop DIR               stop it and wait until it is gone
#   scripts/testbed.sh adduser DIR USER PASS  register another user (or set
#                                             the password of one)
#   scripts/testbed.sh friends DIR [USER...]  make alice, bob and carol (or the
#                                             users named) each other's contacts
#                                             (before they log in)
#   scripts/testbed.sh install [SERVER...]    install what it needs (apt, as root)
#
# TESTBED_SERVER picks the server start runs: prosody (the default) or
# ejabberd. The other commands work on whichever server DIR holds; install
# takes the servers as arguments (default: TESTBED_SERVER).
#
# Everything of one instance lives in DIR: config, data, pid file, logs
# (DIR/prosody.log or DIR/ejabberd.log), and a self-signed certificate for
# "localhost" (DIR/localhost.crt, usable as a CA file). Several instances can
# run at once, each with its own DIR. Both servers get the same setup: c2s
# with STARTTLS offered but not required, PLAIN and SCRAM-SHA-1 (passwords
# stored hashed), WebSocket and BOSH, stream management, carbons, ping,
# roster, offline storage; the users alice, bob and carol, password "secret".
#
# ejabberd (Debian's 23.01) runs from erl directly, as the invoking user,
# as a node without a name: no Erlang distribution, so no epmd and no
# distribution port, and nothing listens but its c2s and HTTP ports on
# 127.0.0.1. Debian's ejabberdctl is not used: it talks to the server over
# Erlang distribution, boots a VM for every command, refuses users other
# than root and ejabberd, and as root runs as the ejabberd user, who cannot
# enter a private DIR such as a Go test's t.TempDir(). Instead users and
# rosters are set through mod_http_api (register, add_rosteritem from
# mod_admin_extra) on a Unix socket in DIR that only the invoking user can
# reach.
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
#   TESTBED_SERVER       prosody (default) or ejabberd, for start and install
#   C2S_PORT, HTTP_PORT  fixed ports instead of free ones picked at random
#   TESTBED_LOG_LEVEL    the server's minimum log level: debug, info
#                        (default), warn or error
#   TESTBED_REQUIRE_TLS  set to 1 to make c2s require STARTTLS (as most
#                        production servers do): no SASL before TLS
#   TESTBED_OWNER_PID    stop the server when this process is gone, so a
#                        test binary that is killed leaves no server behind
#   TESTBED_NO_INSTALL   set to 1 to never call apt-get

set -euo pipefail

readonly DOMAIN=localhost
readonly PASSWORD=secret
readonly USERS=(alice bob carol)
readonly SERVERS=(prosody ejabberd)
# Seconds to wait for the server to listen, and to exit after SIGTERM.
# Prosody listens within a second or two; ejabberd takes about four on an
# idle two-CPU machine, 7 to 13 with other test runs beside it, and once
# about 24 inside an interop run. A failing start is seen at once (the
# server exits), so the bound only ends a start that hangs.
readonly START_TIMEOUT=90
readonly STOP_TIMEOUT=15
readonly PORT_ATTEMPTS=8

die() {
	echo "testbed: $*" >&2
	exit 1
}

usage() {
	sed -n '4,16p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# check_server NAME: NAME is a server the testbed can start.
check_server() {
	local s
	for s in "${SERVERS[@]}"; do
		[ "$1" != "$s" ] || return 0
	done
	die "unknown server \"$1\" (TESTBED_SERVER): want one of ${SERVERS[*]}"
}

# ---------------------------------------------------------------- install

# install_packages SERVER...: apt-get install what the servers named need
# and is missing.
install_packages() {
	local missing=() s
	for s in "$@"; do
		check_server "$s"
		case $s in
		prosody)
			if ! command -v prosody >/dev/null 2>&1 || ! command -v prosodyctl >/dev/null 2>&1; then
				missing+=(prosody)
			fi
			;;
		ejabberd)
			# The package's erl, its libraries and ejabberdctl, which
			# names both.
			command -v ejabberdctl >/dev/null 2>&1 || missing+=(ejabberd)
			command -v curl >/dev/null 2>&1 || missing+=(curl)
			;;
		esac
	done
	command -v openssl >/dev/null 2>&1 || missing+=(openssl)
	command -v ss >/dev/null 2>&1 || missing+=(iproute2)
	# systemd-analyze checks the Debian package's unit (it starts nothing).
	command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
	if [ ${#missing[@]} -eq 0 ]; then
		return 0
	fi
	if [ "${TESTBED_NO_INSTALL:-}" = 1 ] || [ "$(id -u)" != 0 ]; then
		die "missing: ${missing[*]} (install them, e.g. as root: scripts/testbed.sh install $*)"
	fi
	echo "testbed: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	# One retry: a mirror can be briefly out of sync during an update.
	apt-get update -qq >&2 || { sleep 5; apt-get update -qq >&2; }
	# mod_smacks (stream management) ships with Prosody since 0.12, so
	# prosody-modules is not needed. The packages start the system-wide
	# Prosody and ejabberd where an init system allows it; those listen on
	# the default ports and do not disturb ours.
	apt-get install -y -qq -o Dpkg::Use-Pty=0 "${missing[@]}" >&2
}

# ---------------------------------------------------------------- utilities

# alive PID: the process exists and is not a zombie. A container whose init
# does not reap can keep a dead server as a zombie, which kill -0 still sees.
alive() {
	local pid=$1 state
	kill -0 "$pid" 2>/dev/null || return 1
	state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null || true)
	[ "$state" != Z ] && [ "$state" != X ]
}

# ours PID: PID is a server started with our config file (MARK is an
# argument of its command line), so a stale pid file whose number was reused
# never makes us kill a stranger.
ours() {
	local pid=$1
	alive "$pid" || return 1
	tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | grep -qxF -- "$MARK"
}

# lua_string S: S as a double-quoted Lua string literal.
lua_string() {
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	printf '"%s"' "$s"
}

# erl_string S: S as an Erlang string literal, for erl's -APP KEY VALUE
# arguments.
erl_string() {
	local s=${1//\\/\\\\}
	s=${s//\"/\\\"}
	printf '"%s"' "$s"
}

# json_string S: S as a JSON string, which is also a YAML double-quoted
# scalar. Control characters other than tab and newline are refused.
json_string() {
	local s=$1 rest=${1//[$'\t\n']/}
	[[ ! $rest =~ [[:cntrl:]] ]] || die "control characters in $(printf '%q' "$s")"
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\t'/\\t}
	s=${s//$'\n'/\\n}
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
# and the server's bind. It sets a variable rather than printing, because
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
	for f in "$LOG" "$OUT"; do
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

# ---------------------------------------------------------------- Prosody

prosody_write_config() {
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
	{ levels = { min = $(lua_string "${TESTBED_LOG_LEVEL:-info}") }, to = "file", filename = $(lua_string "$LOG") };
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

# prosody_run: start Prosody in the background and set SERVER_PID.
prosody_run() {
	# -F: stay in the foreground, as our child; we keep the pid.
	prosody --config "$CFG" -F </dev/null >"$OUT" 2>&1 &
	SERVER_PID=$!
}

# prosody_port_taken: the log says a port was taken.
prosody_port_taken() {
	grep -q "Failed to open server port" "$LOG" 2>/dev/null
}

# prosody_started: Prosody is ready once it listens.
prosody_started() {
	return 0
}

# prosody_register USER PASS: register USER, or set the password of USER.
# It needs the config (for data_path) but not the server.
prosody_register() {
	local user=$1 pass=$2 out
	if ! out=$(prosodyctl --config "$CFG" register "$user" "$DOMAIN" "$pass" 2>&1 </dev/null); then
		echo "$out" >&2
		die "prosodyctl could not register $user@$DOMAIN"
	fi
}

# prosody_friends USER...: writes the rosters of the users straight into
# Prosody's file storage: each has the others, subscription both, in group
# "Friends". Prosody reads a roster from storage when its user logs in, so
# this is for users who have not logged in yet.
prosody_friends() {
	local dir="$DIR/data/$DOMAIN/roster" u c
	local users=("$@")
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

# ---------------------------------------------------------------- ejabberd

# ejabberd_env: sets ERL and ERL_LIBS to what Debian's ejabberdctl uses, so
# the server runs on the Erlang and the libraries of the package.
ejabberd_env() {
	local ctl
	ctl=$(command -v ejabberdctl 2>/dev/null) || die "ejabberdctl not found (scripts/testbed.sh install ejabberd)"
	ERL=$(sed -n 's/^ERL="\(.*\)"$/\1/p' "$ctl" | head -n1)
	ERL_LIBS=$(sed -n "s/^ERL_LIBS='\(.*\)'$/\1/p" "$ctl" | head -n1)
	[ -n "$ERL" ] || ERL=$(command -v erl 2>/dev/null) || die "erl not found"
	[ -n "$ERL_LIBS" ] && [ -d "$ERL_LIBS" ] || die "no ERL_LIBS in $ctl: cannot find ejabberd's libraries"
}

# ejabberd_socket_path: sets API_SOCK, the Unix socket of mod_http_api:
# DIR/api.sock, or, when that is longer than a socket address can be (108
# bytes), one in a private directory under /tmp named after DIR.
ejabberd_socket_path() {
	API_SOCK=$DIR/api.sock
	API_SOCK_DIR=
	if [ ${#API_SOCK} -gt 100 ]; then
		API_SOCK_DIR=/tmp/xmppbridge-ejabberd-api-$(printf '%s' "$DIR" | sha256sum | cut -c1-16)
		API_SOCK=$API_SOCK_DIR/api.sock
	fi
}

ejabberd_write_config() {
	local c2s=$1 http=$2 level=${TESTBED_LOG_LEVEL:-info} require=false
	[ "$level" != warn ] || level=warning
	[ "${TESTBED_REQUIRE_TLS:-}" != 1 ] || require=true
	ejabberd_socket_path
	if [ -n "$API_SOCK_DIR" ]; then
		mkdir -p -m 700 "$API_SOCK_DIR"
		[ -O "$API_SOCK_DIR" ] || die "$API_SOCK_DIR belongs to someone else"
	fi
	cat >"$CFG.tmp" <<EOF
# Written by scripts/testbed.sh start; rewritten on every start.
hosts:
  - localhost
loglevel: $level
log_rotate_count: 0
certfiles:
  - $(json_string "$DIR/localhost.crt")
  - $(json_string "$DIR/localhost.key")

# Passwords stored as SCRAM-SHA-1 hashes, as Prosody's internal_hashed
# does: the mechanisms offered are then SCRAM-SHA-1 (and -PLUS over TLS)
# and PLAIN, as on Prosody. PLAIN without TLS is allowed.
auth_method: internal
auth_password_format: scram
disable_sasl_mechanisms:
  - X-OAUTH2
# Users come from the testbed script only; no s2s.
s2s_access: none

listen:
  # STARTTLS is offered but not required, so tests can use both a TLS and
  # a loopback-plaintext upstream. Bursts of connections from load and
  # interop tests must not be refused: ejabberd's default backlog is 5.
  - port: $c2s
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls: true
    starttls_required: $require
    backlog: 4096
  - port: $http
    ip: "127.0.0.1"
    module: ejabberd_http
    backlog: 4096
    request_handlers:
      /http-bind: mod_bosh
      /xmpp-websocket: ejabberd_http_ws
  # The testbed script's way in: mod_http_api on a socket in DIR.
  - port: $(json_string "unix:$API_SOCK")
    module: ejabberd_http
    request_handlers:
      /api: mod_http_api

api_permissions:
  "testbed script":
    from:
      - mod_http_api
    who: all
    what: "*"

# No mod_mam (archives would add stanza-id and slow tests down), no
# mod_register (users come from the testbed script), no s2s. mod_admin_extra
# has add_rosteritem for the friends command.
modules:
  mod_admin_extra: {}
  mod_blocking: {}
  mod_bosh: {}
  mod_caps: {}
  mod_carboncopy: {}
  mod_client_state: {}
  mod_disco: {}
  mod_http_api: {}
  mod_last: {}
  mod_offline: {}
  mod_ping: {}
  mod_privacy: {}
  mod_private: {}
  mod_roster:
    versioning: true
  mod_stream_mgmt: {}
  mod_time: {}
  mod_vcard:
    search: false
  mod_version:
    show_os: false
EOF
	mv "$CFG.tmp" "$CFG"
}

# ejabberd_run: start ejabberd in the background and set SERVER_PID. It is
# what "ejabberdctl foreground-quiet" runs, less the Erlang distribution:
# without -sname there is no node name, no epmd and no distribution port.
ejabberd_run() {
	ejabberd_env
	rm -f "$API_SOCK"
	# +sbwt none...: schedulers sleep instead of spinning when idle, since
	# several servers and the tests share the machine. -ejabberd quiet true:
	# the log goes to EJABBERD_LOG_PATH only. The config path is given as
	# an argument (rather than in EJABBERD_CONFIG_PATH) so that ours finds it
	# on the command line.
	HOME=${HOME:-$DIR} ERL_LIBS=$ERL_LIBS \
		EJABBERD_LOG_PATH=$LOG ERL_CRASH_DUMP=$DIR/erl_crash.dump ERL_CRASH_DUMP_BYTES=0 \
		"$ERL" -noinput +sbwt none +sbwtdcpu none +sbwtdio none \
		-mnesia dir "$(erl_string "$DIR/data")" \
		-ejabberd config "$MARK" -ejabberd quiet true \
		-s ejabberd </dev/null >"$OUT" 2>&1 &
	SERVER_PID=$!
}

ejabberd_port_taken() {
	grep -q "Failed to open socket at .*: address already in use" "$LOG" 2>/dev/null
}

# ejabberd_started: ejabberd opens its ports before the last of its
# start-up is done; it logs this line when it is.
ejabberd_started() {
	grep -q "is started in the node" "$LOG" 2>/dev/null
}

# ejabberd_api COMMAND JSON: call an ejabberd command through mod_http_api.
# Sets API_STATUS (the HTTP status) and API_BODY; fails when curl does.
ejabberd_api() {
	local out
	ejabberd_socket_path
	[ -S "$API_SOCK" ] || die "ejabberd is not running in $DIR (no $API_SOCK)"
	out=$(curl -sS --max-time 30 --unix-socket "$API_SOCK" -H 'Content-Type: application/json' \
		--data-binary "$2" -w '\n%{http_code}' "http://localhost/api/$1") ||
		die "$1: no answer from ejabberd on $API_SOCK"
	API_STATUS=${out##*$'\n'}
	API_BODY=${out%$'\n'*}
}

# ejabberd_register USER PASS: register USER, or set the password of USER.
ejabberd_register() {
	local user=$1 pass=$2 body
	body="{\"user\":$(json_string "$user"),\"host\":$(json_string "$DOMAIN"),\"password\":$(json_string "$pass")}"
	ejabberd_api register "$body"
	[ "$API_STATUS" != 200 ] || return 0
	# As prosodyctl register does, a user who exists gets the new password.
	if [ "$API_STATUS" = 409 ]; then
		body="{\"user\":$(json_string "$user"),\"host\":$(json_string "$DOMAIN"),\"newpass\":$(json_string "$pass")}"
		ejabberd_api change_password "$body"
		[ "$API_STATUS" != 200 ] || return 0
	fi
	die "ejabberd could not register $user@$DOMAIN: $API_STATUS $API_BODY"
}

# ejabberd_friends USER...: each user gets the others in the roster,
# subscription both, in group "Friends" (add_rosteritem, mod_admin_extra).
ejabberd_friends() {
	local u c body
	for u in "$@"; do
		for c in "$@"; do
			[ "$c" != "$u" ] || continue
			body="{\"localuser\":$(json_string "$u"),\"localhost\":$(json_string "$DOMAIN")"
			body+=",\"user\":$(json_string "$c"),\"host\":$(json_string "$DOMAIN")"
			body+=",\"nick\":$(json_string "${c^}"),\"group\":\"Friends\",\"subs\":\"both\"}"
			ejabberd_api add_rosteritem "$body"
			# A command whose result is a code answers 200 with 0 when it did it.
			[ "$API_STATUS" = 200 ] && [ "$API_BODY" = 0 ] ||
				die "ejabberd could not add $c to the roster of $u: $API_STATUS $API_BODY"
		done
	done
}

# ---------------------------------------------------------------- servers

# launch C2S HTTP: start the server and wait until it listens on both ports
# and is ready, then set PID. PID stays empty (and the server is stopped
# again) when another process holds a port. It reports through PID rather
# than its exit status because a function called as a condition runs
# without set -e.
launch() {
	local c2s=$1 http=$2 pid deadline p owner
	PID=
	"${SERVER}_write_config" "$c2s" "$http"
	: >"$LOG"
	# All three standard streams are redirected, so a caller reading our
	# stdout (a Go test) is not kept waiting by the server that outlives us.
	"${SERVER}_run"
	pid=$SERVER_PID
	echo "$pid" >"$DIR/testbed.pid"
	deadline=$((SECONDS + START_TIMEOUT))
	while :; do
		if ! alive "$pid"; then
			wait "$pid" 2>/dev/null || true
			# ejabberd exits when it cannot open a port.
			"${SERVER}_port_taken" && return 0
			log_tail
			die "$SERVER exited during start"
		fi
		if "${SERVER}_port_taken"; then
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
		if [ "$ready" = 1 ] && "${SERVER}_started" &&
			(exec 3<>"/dev/tcp/127.0.0.1/$c2s") 2>/dev/null &&
			(exec 3<>"/dev/tcp/127.0.0.1/$http") 2>/dev/null; then
			PID=$pid
			return 0
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			stop_pid "$pid"
			log_tail
			die "$SERVER did not listen on 127.0.0.1:$c2s and :$http within ${START_TIMEOUT}s"
		fi
		sleep 0.1
	done
}

# stop_pid PID: SIGTERM, wait, and SIGKILL if it will not go. Both servers
# shut down cleanly on SIGTERM, closing their streams.
stop_pid() {
	local pid=$1 deadline
	alive "$pid" || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	deadline=$((SECONDS + STOP_TIMEOUT))
	while alive "$pid"; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "testbed: $SERVER $pid ignored SIGTERM for ${STOP_TIMEOUT}s, killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
			sleep 0.2
			break
		fi
		sleep 0.1
	done
	# Reaps it when it is our own child; harmless otherwise.
	wait "$pid" 2>/dev/null || true
}

# watch_owner: in the background, stop the server once TESTBED_OWNER_PID is
# gone.
watch_owner() {
	local owner=$1
	alive "$owner" || die "TESTBED_OWNER_PID $owner is not a running process"
	(
		trap '' HUP INT
		while alive "$owner" && alive "$PID"; do
			sleep 1
		done
		if ours "$PID"; then
			stop_pid "$PID"
		fi
		cleanup
	) </dev/null >/dev/null 2>&1 &
	echo $! >"$DIR/watcher.pid"
}

# cleanup removes what a stopped server leaves outside DIR.
cleanup() {
	if [ "$SERVER" = ejabberd ]; then
		ejabberd_socket_path
		rm -f "$API_SOCK"
		[ -z "$API_SOCK_DIR" ] || rmdir "$API_SOCK_DIR" 2>/dev/null || true
	fi
}

# ---------------------------------------------------------------- commands

# set_dir DIR [SERVER]: use DIR, for SERVER when given, else for the server
# its last start ran.
set_dir() {
	[ -n "${1:-}" ] || usage
	mkdir -p -- "$1"
	DIR=$(cd -- "$1" && pwd -P)
	SERVER=${2:-}
	if [ -z "$SERVER" ]; then
		SERVER=$(cat "$DIR/testbed.server" 2>/dev/null || echo prosody)
	fi
	check_server "$SERVER"
	LOG=$DIR/$SERVER.log
	OUT=$DIR/$SERVER.out
	case $SERVER in
	prosody)
		CFG=$DIR/prosody.cfg.lua
		MARK=$CFG
		;;
	ejabberd)
		CFG=$DIR/ejabberd.yml
		MARK=$(erl_string "$CFG")
		;;
	esac
}

running_pid() {
	local pid
	pid=$(cat "$DIR/testbed.pid" 2>/dev/null || true)
	if [ -n "$pid" ] && ours "$pid"; then
		echo "$pid"
	fi
}

cmd_start() {
	set_dir "${1:-}" "${TESTBED_SERVER:-prosody}"
	install_packages "$SERVER"
	local pid old
	old=$(cat "$DIR/testbed.server" 2>/dev/null || true)
	if [ -n "$old" ] && [ "$old" != "$SERVER" ]; then
		die "$DIR holds a $old testbed; use another directory for $SERVER"
	fi
	pid=$(running_pid)
	[ -z "$pid" ] || die "a testbed is already running in $DIR (pid $pid); stop it first"
	rm -f "$DIR/testbed.env" "$DIR/watcher.pid"
	echo "$SERVER" >"$DIR/testbed.server"
	mkdir -p "$DIR/data"
	make_cert

	local c2s http attempt=1 fixed=0 u
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
		if [ "$attempt" = 1 ] && [ "$SERVER" = prosody ]; then
			# Prosody registers users without running.
			prosody_write_config "$c2s" "$http"
			for u in "${USERS[@]}"; do
				prosody_register "$u" "$PASSWORD"
			done
		fi
		launch "$c2s" "$http"
		[ -z "$PID" ] || break
		[ "$fixed" = 0 ] || { log_tail; die "port $c2s or $http is taken by another process"; }
		attempt=$((attempt + 1))
		[ "$attempt" -le "$PORT_ATTEMPTS" ] || die "no free pair of ports after $PORT_ATTEMPTS attempts"
		echo "testbed: ports $c2s/$http were taken, trying others" >&2
	done

	if [ "$SERVER" = ejabberd ]; then
		# ejabberd registers users through the running server. A failure
		# here stops it, so no server outlives a failed start.
		trap 'stop_pid "$PID"; cleanup' EXIT
		for u in "${USERS[@]}"; do
			ejabberd_register "$u" "$PASSWORD"
		done
		trap - EXIT
	fi

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
		alive "$pid" && die "$SERVER $pid is still running"
	fi
	cleanup
	rm -f "$DIR/testbed.pid" "$DIR/testbed.env"
}

cmd_adduser() {
	[ $# -eq 3 ] || usage
	set_dir "$1"
	[ -s "$CFG" ] || die "no testbed in $DIR (run start first)"
	"${SERVER}_register" "$2" "$3"
}

# cmd_friends makes the standard users (or the users named) each other's
# contacts, subscription both, in group "Friends".
cmd_friends() {
	[ $# -ge 1 ] || usage
	set_dir "$1"
	shift
	[ -s "$CFG" ] || die "no testbed in $DIR (run start first)"
	if [ $# -eq 0 ]; then
		"${SERVER}_friends" "${USERS[@]}"
	else
		"${SERVER}_friends" "$@"
	fi
}

case "${1:-}" in
start) shift; [ $# -eq 1 ] || usage; cmd_start "$@" ;;
stop) shift; [ $# -eq 1 ] || usage; cmd_stop "$@" ;;
adduser) shift; cmd_adduser "$@" ;;
friends) shift; cmd_friends "$@" ;;
install)
	shift
	if [ $# -eq 0 ]; then
		install_packages "${TESTBED_SERVER:-prosody}"
	else
		install_packages "$@"
	fi
	;;
*) usage ;;
esac
