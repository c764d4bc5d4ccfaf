#!/usr/bin/env bash
# Starts a private Prosody and the bridge in front of it, on loopback, and
# ends with the demo chat page ready at http://LISTEN/ (log in as alice and,
# in a private window, as bob, since the tabs of one browser profile share
# one session; password "secret"). Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
dir="$root/.testbed/demo"
listen="${LISTEN:-127.0.0.1:5280}"

if ! command -v prosody >/dev/null || ! command -v openssl >/dev/null; then
  echo "installing prosody (Debian packages)..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prosody openssl >/dev/null
fi

scripts/testbed.sh stop "$dir" >/dev/null 2>&1 || true
rm -rf "$dir"
mkdir -p "$dir"
eval "$(scripts/testbed.sh start "$dir")"
trap 'scripts/testbed.sh stop "$dir" >/dev/null 2>&1 || true' EXIT
# alice, bob and carol start as each other's contacts.
scripts/testbed.sh friends "$dir"

cat >"$dir/xmppbridge.toml" <<TOML
listen = "$listen"
log_level = "info"
allowed_origins = ["*"]
allow_any_domain = false

[domain."$DOMAIN"]
address = "$C2S_ADDR"
security = "starttls"
ca_file = "$CA_FILE"
TOML

go build -o "$dir/xmppbridge" ./cmd/xmppbridge

cat <<MSG

  Prosody (private, on loopback)  c2s $C2S_ADDR   its own WebSocket $WS_URL
  users                           alice, bob, carol @ $DOMAIN   password: secret
                                  (each other's contacts)

  xmppbridge
    demo chat page                http://$listen/
    JSON API                      http://$listen/json/   (docs/json-api.md)
    XMPP over WebSocket           ws://$listen/xmpp-websocket
    BOSH                          http://$listen/http-bind

  Open http://$listen/ and log in as alice@$DOMAIN; open it again in a
  private window as bob@$DOMAIN, and chat. Add ?transport=sse or
  ?transport=poll to the address to try the other JSON transports.

  Any RFC 7395 client works too, for example:
    (cd interop && npm ci) && node interop/login-and-chat.mjs --lib xmppjs --url ws://$listen/xmpp-websocket --domain $DOMAIN

  Ctrl-C stops the bridge and Prosody.

MSG
"$dir/xmppbridge" -config "$dir/xmppbridge.toml" &
bridge=$!
# Ctrl-C reaches the bridge through the terminal; a plain TERM to this
# script is passed on. Either way the bridge drains, then Prosody stops.
trap 'kill -TERM "$bridge" 2>/dev/null || true' TERM
wait "$bridge" || wait "$bridge" || true
