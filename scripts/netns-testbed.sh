#!/usr/bin/env bash
# netns-testbed.sh: several bridge boxes on one machine, each a Linux network
# namespace, for the cluster tests and for trying a cluster by hand.
#
#   scripts/netns-testbed.sh start DIR   start the boxes, print KEY=VALUE lines
#   scripts/netns-testbed.sh stop DIR    stop everything and remove the boxes
#   scripts/netns-testbed.sh kill DIR NODE
#                                        SIGKILL the bridge NODE (a1, a2, b1, c1)
#   scripts/netns-testbed.sh term DIR NODE
#                                        SIGTERM the bridge NODE: it drains
#   scripts/netns-testbed.sh cut DIR NODE
#                                        cut the link of NODE's box: its
#                                        packets go nowhere, nothing is refused
#   scripts/netns-testbed.sh down DIR BOX
#                                        the box BOX (a, a2, b, c, c2) dies:
#                                        SIGKILL all in it, its link cut
#
# Needs root, ip (iproute2), openssl, curl, prosody, ejabberd, haproxy and
# nginx (scripts/testbed.sh install prosody ejabberd), and the daemon: XMPPBRIDGE=path/to/xmppbridge,
# else it is built with go build into DIR.
#
# The boxes, on one Linux bridge (xbN) whose address 10.231.N.1 is where the
# machine itself, and so a test, reaches them:
#
#   box a    10.231.N.11  Prosody serving a.test (c2s 5222, s2s 5269) and
#                         the bridge a1 (:5280), in front of that Prosody
#   box a2   10.231.N.12  the bridge a2, in front of the same Prosody
#   box b    10.231.N.21  Prosody serving b.test and the bridge b1
#   box c    10.231.N.31  ejabberd serving c.test and the bridge c1
#   box c2   10.231.N.32  with NETBED_EJABBERD_CLUSTER only: a second
#                         ejabberd node serving c.test, joined to box c's
#                         (join_cluster), and the bridge c2 in front of it
#   box lb   10.231.N.2   HAProxy (:80) and nginx (:8080), each plain
#                         round-robin over a1 and a2, from
#                         examples/haproxy/haproxy.cfg and
#                         examples/nginx/xmppbridge-cluster.conf
#
# a1 and a2 are one cluster ([cluster] nodes a1 and a2), so any request of
# a BOSH or JSON session may reach either. A drained one (term) is a lame
# duck for 3 s, its /readyz 503, which HAProxy's check notices within 2 s;
# then it sends its RFC 7395 and BOSH clients to the balancer
# (see-other-uri) and leaves their resumable upstream streams, and its
# JSON sessions', for the other node to resume. a.test, b.test and c.test
# federate over s2s with certificates of a CA the script makes
# (DIR/ca.crt), required on every side. Each box resolves the other domain through
# its own /etc/hosts (ip netns exec mounts /etc/netns/BOX/hosts there). Users
# alice, bob and carol with password "secret" exist on both domains.
#
# The ejabberd cluster (NETBED_EJABBERD_CLUSTER=1): the nodes are
# ejabberd@10.231.N.31 and ejabberd@10.231.N.32, their Erlang distribution
# on port 4370 (ERL_DIST_PORT; no epmd), with a cookie made at start and
# net_ticktime 8 s. Box c2's node joins box c's as "ejabberdctl
# join_cluster" does, by an RPC from a hidden node. Users and rosters are
# in Mnesia, on both nodes; each client's stream lives in the c2s process
# of the node it reached. When box c dies (down DIR c), the other node
# notices within about net_ticktime; a stream of box c's node cannot be
# resumed on it (XEP-0198 <failed/>, the JSON page's token
# item-not-found), so clients log in again, and what was sent to them once
# the death was noticed waits in mod_offline's storage for their first
# presence. What the server routed to the dead node's sessions before that
# is lost with it.
#
# start prints, on stdout only (and keeps in DIR/netbed.env):
#   NET=10.231.N
#   BALANCER_URL=http://10.231.N.2
#   NGINX_URL=http://10.231.N.2:8080
#   A1_URL=http://10.231.N.11:5280   A2_URL=...   B1_URL=...   C1_URL=...
#   C2_URL=http://10.231.N.32:5280   (with the ejabberd cluster)
#   CA_FILE=DIR/ca.crt
#
# Environment:
#   XMPPBRIDGE         the daemon binary (default: go build into DIR)
#   NETBED_N           the third octet (1-254; default: the first free one)
#   NETBED_OWNER_PID   stop everything when this process is gone
#   NETBED_EJABBERD_CLUSTER
#                      non-empty: box c2 and the ejabberd cluster too

set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
readonly ROOT
readonly PASSWORD=secret
readonly USERS=(alice bob carol)
readonly START_TIMEOUT=60

die() {
	echo "netns-testbed: $*" >&2
	exit 1
}

usage() {
	sed -n '4,16p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

[ $# -ge 2 ] || usage
CMD=$1
DIR=$(mkdir -p "$2" && cd "$2" && pwd)
readonly CMD DIR
# The ejabberd cluster is started on request, and remembered in DIR.
CLUSTER=${NETBED_EJABBERD_CLUSTER:-}
[ "$CMD" = start ] || CLUSTER=$(cat "$DIR/cluster" 2>/dev/null || true)
readonly CLUSTER
# Erlang distribution between the two ejabberd nodes, without epmd.
readonly ERL_DIST_PORT=4370 NET_TICKTIME=8

# ---------------------------------------------------------------- names

# load_n: N of a started testbed, from DIR.
load_n() {
	[ -s "$DIR/n" ] || die "no testbed in $DIR"
	N=$(cat "$DIR/n")
}

set_names() {
	BR=xb$N
	NS_A=xb$N-a
	NS_A2=xb$N-a2
	NS_B=xb$N-b
	NS_C=xb$N-c
	NS_C2=xb$N-c2
	NS_LB=xb$N-lb
	NET=10.231.$N
	IP_A=$NET.11
	IP_A2=$NET.12
	IP_B=$NET.21
	IP_C=$NET.31
	IP_C2=$NET.32
	IP_LB=$NET.2
}

# pick_n: the first N whose bridge does not exist yet.
pick_n() {
	if [ -n "${NETBED_N:-}" ]; then
		N=$NETBED_N
		return
	fi
	for N in $(seq 1 254); do
		if ! ip link show "xb$N" >/dev/null 2>&1 && ! ip netns list | grep -q "^xb$N-" &&
			! ip -o link show | grep -q ": xb$N[a-z]"; then
			return
		fi
	done
	die "no free testbed number"
}

# ---------------------------------------------------------------- network

# box NAME IP: a namespace with loopback up and a veth on the bridge.
box() {
	local ns=$1 ip=$2 host=xb$N${1##*-}
	ip netns add "$ns"
	ip link add "$host" type veth peer name eth0 netns "$ns"
	ip link set "$host" master "$BR" up
	ip -n "$ns" addr add "$ip/24" dev eth0
	ip -n "$ns" link set lo up
	ip -n "$ns" link set eth0 up
	mkdir -p "/etc/netns/$ns"
	{
		echo "127.0.0.1 localhost"
		echo "$IP_A a.test"
		echo "$IP_B b.test"
		echo "$IP_C c.test"
	} >"/etc/netns/$ns/hosts"
	# No name server in a box: lookups beyond /etc/hosts fail at once.
	echo "nameserver 127.0.0.1" >"/etc/netns/$ns/resolv.conf"
}

network_up() {
	ip link add "$BR" type bridge
	ip addr add "$NET.1/24" dev "$BR"
	ip link set "$BR" up
	box "$NS_A" "$IP_A"
	box "$NS_A2" "$IP_A2"
	box "$NS_B" "$IP_B"
	box "$NS_C" "$IP_C"
	[ -z "$CLUSTER" ] || box "$NS_C2" "$IP_C2"
	box "$NS_LB" "$IP_LB"
}

# ---------------------------------------------------------------- certificates

make_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-days 3650 -subj "/CN=xmppbridge netns testbed CA" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-keyout "$DIR/ca.key" -out "$DIR/ca.crt" 2>>"$DIR/openssl.log" ||
		die "openssl could not make the CA (DIR/openssl.log)"
}

# make_cert DOMAIN: DIR/DOMAIN.crt and .key, signed by the CA, for c2s and
# s2s (XEP-0178 wants the domain as a DNS name; xmppAddr is not needed).
make_cert() {
	local d=$1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-subj "/CN=$d" -keyout "$DIR/$d.key" -out "$DIR/$d.csr" 2>>"$DIR/openssl.log" ||
		die "openssl could not make a key for $d"
	printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n' "$d" >"$DIR/$d.ext"
	openssl x509 -req -in "$DIR/$d.csr" -CA "$DIR/ca.crt" -CAkey "$DIR/ca.key" \
		-CAcreateserial -days 3650 -extfile "$DIR/$d.ext" -out "$DIR/$d.crt" 2>>"$DIR/openssl.log" ||
		die "openssl could not sign the certificate of $d"
	chmod 644 "$DIR/$d.key"
}

# ---------------------------------------------------------------- Prosody

# prosody_start BOX DOMAIN IP
prosody_start() {
	local box=$1 d=$2 ip=$3 ns=xb$N-$1 dir=$DIR/$1
	mkdir -p "$dir/data"
	cat >"$dir/prosody.cfg.lua" <<EOF
-- Written by scripts/netns-testbed.sh.
run_as_root = true
pidfile = "$dir/prosody.pid"
data_path = "$dir/data"
log = { { levels = { min = "info" }, to = "file", filename = "$dir/prosody.log" } }
network_backend = "epoll"
interfaces = { "$ip" }
c2s_ports = { 5222 }
s2s_ports = { 5269 }
http_ports = { }
https_ports = { }
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
storage = "internal"
-- The other box is found in this box's /etc/hosts (no name server here).
unbound = { hoststxt = true }
-- Federation only with certificates of the testbed's CA.
s2s_require_encryption = true
s2s_secure_auth = true
modules_enabled = {
	"roster"; "saslauth"; "tls"; "disco"; "carbons"; "ping"; "smacks";
	"posix"; "s2s";
}
ssl = {
	certificate = "$DIR/$d.crt";
	key = "$DIR/$d.key";
	cafile = "$DIR/ca.crt";
}
VirtualHost "$d"
EOF
	local u
	for u in "${USERS[@]}"; do
		prosodyctl --config "$dir/prosody.cfg.lua" register "$u" "$d" "$PASSWORD" </dev/null >>"$dir/prosodyctl.log" 2>&1 ||
			die "prosodyctl could not register $u@$d ($dir/prosodyctl.log)"
	done
	ip netns exec "$ns" prosody --config "$dir/prosody.cfg.lua" -F </dev/null >"$dir/prosody.out" 2>&1 &
	echo $! >"$DIR/$box.prosody.pid"
}

# ---------------------------------------------------------------- ejabberd

# ejabberd_start BOX IP: ejabberd serving c.test in BOX, run from erl as
# scripts/testbed.sh runs it, its users registered through mod_http_api on
# a Unix socket in DIR/BOX. Without the cluster it has no Erlang
# distribution; with it (NETBED_EJABBERD_CLUSTER), the node is
# ejabberd@IP and listens for the other node on ERL_DIST_PORT (the
# -erl_epmd_port of ejabberdctl): no epmd, and a node's name is its
# address, which every box reaches.
ejabberd_start() {
	local box=$1 ip=$2 dir=$DIR/$1 ctl dist=() ticktime=""
	if [ -n "$CLUSTER" ]; then
		# A node whose box died is noticed after net_ticktime (±25%), 60 s
		# by default: meanwhile what is routed to its sessions is lost.
		# ejabberd sets it again from its own option at start.
		dist=(-name "ejabberd@$ip" -setcookie "$EJABBERD_COOKIE" -erl_epmd_port "$ERL_DIST_PORT" -start_epmd false
			-kernel net_ticktime "$NET_TICKTIME")
		ticktime="net_ticktime: $NET_TICKTIME"
	fi
	rm -rf "$dir/data"
	mkdir -p "$dir/data"
	ctl=$(command -v ejabberdctl) || die "ejabberdctl not found"
	ERL=$(sed -n 's/^ERL="\(.*\)"$/\1/p' "$ctl" | head -n1)
	ERL_LIBS=$(sed -n "s/^ERL_LIBS='\(.*\)'$/\1/p" "$ctl" | head -n1)
	[ -n "$ERL" ] || ERL=$(command -v erl) || die "erl not found"
	cat "$DIR/c.test.crt" "$DIR/c.test.key" >"$dir/c.test.pem"
	cat >"$dir/ejabberd.yml" <<EOF
# Written by scripts/netns-testbed.sh.
hosts:
  - c.test
loglevel: info
log_rotate_count: 0
$ticktime
certfiles:
  - "$dir/c.test.pem"
ca_file: "$DIR/ca.crt"
auth_method: internal
auth_password_format: scram
s2s_use_starttls: required
s2s_access: all
listen:
  - port: 5222
    ip: "$ip"
    module: ejabberd_c2s
    starttls: true
  - port: 5269
    ip: "$ip"
    module: ejabberd_s2s_in
  - port: "unix:$dir/api.sock"
    module: ejabberd_http
    request_handlers:
      /api: mod_http_api
api_permissions:
  "netns testbed script":
    from:
      - mod_http_api
    who: all
    what: "*"
modules:
  mod_admin_extra: {}
  mod_caps: {}
  mod_carboncopy: {}
  mod_disco: {}
  mod_http_api: {}
  # What is sent to a user with no session waits here: after a node of a
  # cluster dies, its users' streams cannot be resumed on the other node.
  mod_offline: {}
  mod_ping: {}
  mod_roster: {}
  mod_stream_mgmt: {}
EOF
	HOME=$dir ERL_LIBS=$ERL_LIBS EJABBERD_LOG_PATH=$dir/ejabberd.log ERL_CRASH_DUMP=$dir/erl_crash.dump ERL_CRASH_DUMP_BYTES=0 \
		ip netns exec "xb$N-$box" "$ERL" -noinput +sbwt none +sbwtdcpu none +sbwtdio none "${dist[@]}" \
		-mnesia dir "\"$dir/data\"" -ejabberd config "\"$dir/ejabberd.yml\"" -ejabberd quiet true \
		-s ejabberd </dev/null >"$dir/ejabberd.out" 2>&1 &
	echo $! >"$DIR/$box.ejabberd.pid"
}

# ejabberd_api BOX COMMAND JSON: one call of mod_http_api of BOX's node.
ejabberd_api() {
	local dir=$DIR/$1 status
	status=$(curl -sS --max-time 60 --unix-socket "$dir/api.sock" -H 'Content-Type: application/json' \
		--data-binary "$3" -o "$dir/api.out" -w '%{http_code}' "http://localhost/api/$2") || die "ejabberd's API did not answer ($dir)"
	[ "$status" = 200 ] || die "ejabberd of box $1: $2 $3: $status $(cat "$dir/api.out")"
}

# ejabberd_wait BOX: until BOX's node has started.
ejabberd_wait() {
	local dir=$DIR/$1 i
	for i in $(seq 1 $((START_TIMEOUT * 10))); do
		grep -q "is started in the node" "$dir/ejabberd.log" 2>/dev/null && return 0
		sleep 0.1
	done
	die "ejabberd of box $1 did not start ($dir/ejabberd.log)"
}

# ejabberd_join: the node of box c2 joins the node of box c
# (ejabberdctl join_cluster, through the API), then both must list both.
ejabberd_join() {
	ejabberd_wait c
	ejabberd_wait c2
	# As ejabberdctl join_cluster does it: from a node of its own (hidden,
	# listening nowhere), an RPC to the joining node, which stops ejabberd,
	# copies the cluster's tables and starts again. Through mod_http_api
	# the call would die with the API's listener half way.
	ip netns exec "$NS_C2" "$ERL" -noinput -hidden -name "ctl@$IP_C2" -setcookie "$EJABBERD_COOKIE" \
		-erl_epmd_port "$ERL_DIST_PORT" -start_epmd false -dist_listen false \
		-eval "R = rpc:call('ejabberd@$IP_C2', ejabberd_admin, join_cluster, [<<\"ejabberd@$IP_C\">>], 60000), io:format(\"~p~n\", [R]), halt(case R of ok -> 0; {ok, _} -> 0; _ -> 1 end)." \
		</dev/null >"$DIR/c2/join.out" 2>&1 || die "ejabberd of box c2 could not join box c's: $(cat "$DIR/c2/join.out")"
	local i
	for i in $(seq 1 $((START_TIMEOUT * 10))); do
		if ejabberd_api c list_cluster '{}' 2>/dev/null && grep -q "ejabberd@$IP_C2" "$DIR/c/api.out"; then
			return 0
		fi
		sleep 0.1
	done
	die "ejabberd of box c2 did not join box c's cluster: $(cat "$DIR/c/api.out")"
}

# ejabberd_users: register the users once ejabberd has started.
ejabberd_users() {
	local u
	ejabberd_wait c
	for u in "${USERS[@]}"; do
		ejabberd_api c register "{\"user\":\"$u\",\"host\":\"c.test\",\"password\":\"$PASSWORD\"}"
	done
}

# ---------------------------------------------------------------- bridges

build_bridge() {
	if [ -n "${XMPPBRIDGE:-}" ]; then
		BIN=$XMPPBRIDGE
		return
	fi
	BIN=$DIR/xmppbridge
	(cd "$ROOT" && go build -o "$BIN" ./cmd/xmppbridge) || die "go build failed"
}

# bridge_start NODE BOX IP DOMAIN SERVER_IP: the daemon NODE in BOX.
bridge_start() {
	local node=$1 ns=xb$N-$2 ip=$3 d=$4 server=$5 lame="" ws_drain="" bosh_drain=""
	if [ "$d" = a.test ]; then
		# A drain hands the clients over through the balancer, once its
		# check (fall 2, inter 1s) has taken this node out.
		lame='lame_duck = "3s"'
		ws_drain="drain_url = \"ws://$IP_LB/xmpp-websocket\""
		bosh_drain="drain_url = \"http://$IP_LB/http-bind\""
	fi
	cat >"$DIR/$node.toml" <<EOF
# Written by scripts/netns-testbed.sh.
listen = "$ip:5280"
log_level = "debug"
allow_any_domain = false
# The balancer and the other node, which name the client in X-Forwarded-For.
trusted_proxies = ["$IP_LB", "$IP_A", "$IP_A2"]
shutdown_timeout = "5s"
$lame

[websocket]
$ws_drain

[bosh]
max_wait = "20s"
$bosh_drain

[json]
# Test clients log in from 10.231.N.1 over plain HTTP.
allow_insecure_password = true
max_wait = "20s"
resume_key = "the netns testbed's key, shared by a1 and a2"

[domain."$d"]
address = "$server:5222"
security = "starttls"
ca_file = "$DIR/ca.crt"
EOF
	if [ "$d" = a.test ]; then
		cat >>"$DIR/$node.toml" <<EOF

[cluster]
node = "$node"

[cluster.peers]
a1 = "http://$IP_A:5280"
a2 = "http://$IP_A2:5280"
EOF
	fi
	ip netns exec "$ns" "$BIN" -config "$DIR/$node.toml" </dev/null >"$DIR/$node.log" 2>&1 &
	echo $! >"$DIR/$node.pid"
}

# ---------------------------------------------------------------- HAProxy

haproxy_start() {
	# The shipped example, with the testbed's addresses for its own.
	sed -e "s/10\.0\.0\.11/$IP_A/g" -e "s/10\.0\.0\.12/$IP_A2/g" \
		-e "s|/run/haproxy-xmppbridge.sock|$DIR/haproxy.sock|" \
		"$ROOT/examples/haproxy/haproxy.cfg" >"$DIR/haproxy.cfg"
	haproxy -c -f "$DIR/haproxy.cfg" >"$DIR/haproxy-check.log" 2>&1 || { cat "$DIR/haproxy-check.log" >&2; die "haproxy refused its config"; }
	ip netns exec "$NS_LB" haproxy -W -db -f "$DIR/haproxy.cfg" </dev/null >"$DIR/haproxy.log" 2>&1 &
	echo $! >"$DIR/haproxy.pid"
}

# ---------------------------------------------------------------- nginx

nginx_start() {
	mkdir -p "$DIR/nginx"
	sed -e "s/10\.0\.0\.11/$IP_A/g" -e "s/10\.0\.0\.12/$IP_A2/g" -e "s/listen 80;/listen 8080;/" \
		"$ROOT/examples/nginx/xmppbridge-cluster.conf" >"$DIR/nginx/site.conf"
	cat >"$DIR/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $DIR/nginx/nginx.pid;
error_log $DIR/nginx/error.log info;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $DIR/nginx/body;
	proxy_temp_path $DIR/nginx/proxy;
	include $DIR/nginx/site.conf;
}
EOF
	nginx -t -e "$DIR/nginx/error.log" -c "$DIR/nginx/nginx.conf" >"$DIR/nginx/check.log" 2>&1 || { cat "$DIR/nginx/check.log" >&2; die "nginx refused its config"; }
	ip netns exec "$NS_LB" nginx -e "$DIR/nginx/error.log" -c "$DIR/nginx/nginx.conf" </dev/null >"$DIR/nginx/out.log" 2>&1 &
	echo $! >"$DIR/nginx.pid"
}

# ---------------------------------------------------------------- waiting

# wait_tcp IP PORT WHAT: until something listens there.
wait_tcp() {
	local i
	for i in $(seq 1 $((START_TIMEOUT * 10))); do
		if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	die "$3 does not listen on $1:$2 after ${START_TIMEOUT}s (logs in $DIR)"
}

# ---------------------------------------------------------------- commands

stop_pid() {
	local f=$1 pid i
	[ -s "$f" ] || return 0
	pid=$(cat "$f")
	kill "$pid" 2>/dev/null || true
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
	rm -f "$f"
}

cmd_stop() {
	[ -s "$DIR/n" ] || return 0
	load_n
	set_names
	local f
	# Signalled all at once: the bridges' drains run side by side.
	for f in "$DIR"/*.pid; do
		[ -e "$f" ] || continue
		[ "$f" != "$DIR/watch.pid" ] || continue
		kill "$(cat "$f")" 2>/dev/null || true
	done
	for f in "$DIR"/*.pid; do
		[ -e "$f" ] || continue
		[ "$f" != "$DIR/watch.pid" ] || continue
		stop_pid "$f"
	done
	local ns
	for ns in "$NS_A" "$NS_A2" "$NS_B" "$NS_C" "$NS_C2" "$NS_LB"; do
		# Anything left in a box goes with it.
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
		rm -rf "/etc/netns/$ns"
		# The kernel takes down a namespace's devices in the background;
		# a veth left for a while would stop the next start here.
		ip link del "xb$N${ns##*-}" 2>/dev/null || true
	done
	ip link del "$BR" 2>/dev/null || true
	rm -f "$DIR/n"
	if [ -s "$DIR/watch.pid" ]; then
		local w
		w=$(cat "$DIR/watch.pid")
		rm -f "$DIR/watch.pid"
		[ "$w" = "${WATCHER_SELF:-}" ] || kill "$w" 2>/dev/null || true
	fi
}

cmd_start() {
	[ "$(id -u)" = 0 ] || die "needs root (network namespaces)"
	ip netns list >/dev/null 2>&1 || die "ip netns is not available"
	local t
	for t in openssl curl prosody prosodyctl ejabberdctl haproxy nginx; do
		command -v "$t" >/dev/null 2>&1 || die "$t is missing (scripts/testbed.sh install prosody ejabberd)"
	done
	[ ! -s "$DIR/n" ] || die "a testbed already runs in $DIR (stop it first)"
	pick_n
	set_names
	echo "$N" >"$DIR/n"
	echo "$CLUSTER" >"$DIR/cluster"
	EJABBERD_COOKIE=$(openssl rand -hex 16)
	# Whatever fails (die exits), what was started goes.
	trap 'cmd_stop' EXIT
	build_bridge
	network_up
	make_ca
	make_cert a.test
	make_cert b.test
	make_cert c.test
	prosody_start a a.test "$IP_A"
	prosody_start b b.test "$IP_B"
	ejabberd_start c "$IP_C"
	[ -z "$CLUSTER" ] || ejabberd_start c2 "$IP_C2"
	wait_tcp "$IP_A" 5222 "Prosody of a.test"
	wait_tcp "$IP_B" 5222 "Prosody of b.test"
	wait_tcp "$IP_C" 5222 "ejabberd of c.test"
	[ -z "$CLUSTER" ] || ejabberd_join
	ejabberd_users
	bridge_start a1 a "$IP_A" a.test "$IP_A"
	bridge_start a2 a2 "$IP_A2" a.test "$IP_A"
	bridge_start b1 b "$IP_B" b.test "$IP_B"
	bridge_start c1 c "$IP_C" c.test "$IP_C"
	[ -z "$CLUSTER" ] || bridge_start c2 c2 "$IP_C2" c.test "$IP_C2"
	haproxy_start
	nginx_start
	wait_tcp "$IP_A" 5280 "bridge a1"
	wait_tcp "$IP_A2" 5280 "bridge a2"
	wait_tcp "$IP_B" 5280 "bridge b1"
	wait_tcp "$IP_C" 5280 "bridge c1"
	[ -z "$CLUSTER" ] || wait_tcp "$IP_C2" 5280 "bridge c2"
	wait_tcp "$IP_LB" 80 "HAProxy"
	wait_tcp "$IP_LB" 8080 "nginx"
	trap - EXIT
	if [ -n "${NETBED_OWNER_PID:-}" ]; then
		(
			while kill -0 "$NETBED_OWNER_PID" 2>/dev/null; do sleep 1; done
			WATCHER_SELF=$BASHPID "$0" stop "$DIR"
		) </dev/null >/dev/null 2>&1 &
		echo $! >"$DIR/watch.pid"
	fi
	cat >"$DIR/netbed.env" <<EOF
NET=$NET
BALANCER_URL=http://$IP_LB
NGINX_URL=http://$IP_LB:8080
A1_URL=http://$IP_A:5280
A2_URL=http://$IP_A2:5280
B1_URL=http://$IP_B:5280
C1_URL=http://$IP_C:5280
${CLUSTER:+C2_URL=http://$IP_C2:5280
}CA_FILE=$DIR/ca.crt
EOF
	cat "$DIR/netbed.env"
}

cmd_kill() {
	load_n
	local node=${1:-}
	case $node in a1 | a2 | b1 | c1 | c2) ;; *) die "no bridge \"$node\": a1, a2, b1, c1 or c2" ;; esac
	[ -s "$DIR/$node.pid" ] || die "bridge $node is not running"
	kill -9 "$(cat "$DIR/$node.pid")"
	rm -f "$DIR/$node.pid"
}

# cmd_term NODE: SIGTERM, as systemctl stop does; the bridge drains and
# exits by itself (its pid file stays, for stop).
cmd_term() {
	load_n
	local node=${1:-}
	case $node in a1 | a2 | b1 | c1 | c2) ;; *) die "no bridge \"$node\": a1, a2, b1, c1 or c2" ;; esac
	[ -s "$DIR/$node.pid" ] || die "bridge $node is not running"
	kill -TERM "$(cat "$DIR/$node.pid")"
}

# cmd_cut NODE: the box of NODE loses its link (the bridge's port of its
# veth goes down), as when a machine's network fails.
cmd_cut() {
	load_n
	local node=${1:-} box
	case $node in a1) box=a ;; a2) box=a2 ;; b1) box=b ;; c1) box=c ;; c2) box=c2 ;; *) die "no bridge \"$node\": a1, a2, b1, c1 or c2" ;; esac
	ip link set "xb$N$box" down
}

# cmd_down BOX: the box dies: everything in it is killed (SIGKILL), its
# server and its bridge alike, and its link cut.
cmd_down() {
	load_n
	set_names
	local box=${1:-}
	case $box in a | a2 | b | c | c2) ;; *) die "no box \"$box\": a, a2, b, c or c2" ;; esac
	# The link first, so that nothing of the box's end reaches the others.
	ip link set "xb$N$box" down
	ip netns pids "xb$N-$box" | xargs -r kill -9
}

case $CMD in
start) cmd_start ;;
cut) shift 2 && cmd_cut "$@" ;;
stop) cmd_stop ;;
kill) shift 2 && cmd_kill "$@" ;;
term) shift 2 && cmd_term "$@" ;;
down) shift 2 && cmd_down "$@" ;;
*) usage ;;
esac
