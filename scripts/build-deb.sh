#!/usr/bin/env bash
# build-deb.sh: builds the Debian package of xmppbridge from this checkout.
#
#   scripts/build-deb.sh [OUTDIR]
#
# Writes OUTDIR/xmppbridge_VERSION_ARCH.deb (OUTDIR defaults to dist/) and
# prints its path. The package holds a static binary (/usr/bin/xmppbridge),
# the hardened systemd unit of packaging/ and the commented example
# configuration as /etc/xmppbridge/xmppbridge.toml (a conffile: upgrades
# keep local changes). Needs Go and dpkg-deb; no root (fakeroot is not
# needed either: dpkg-deb --root-owner-group makes every file root's).
#
# VERSION is the latest tag v* without its v, or 0, followed by
# ~gitYYYYMMDD.HASH of the commit (and +dirty for uncommitted changes), so
# that a later commit sorts later. GOARCH picks the architecture (default:
# this machine's).
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:-dist}
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH=$PATH:/usr/local/go/bin
fi

arch=${GOARCH:-$(go env GOARCH)}
case "$arch" in
amd64 | arm64 | riscv64 | s390x | ppc64le) debarch=$arch ;;
386) debarch=i386 ;;
arm) debarch=armhf ;;
*)
	echo "build-deb.sh: no Debian architecture for GOARCH=$arch" >&2
	exit 1
	;;
esac

base=0
if tag=$(git describe --tags --abbrev=0 --match 'v[0-9]*' 2>/dev/null); then
	base=${tag#v}
fi
stamp=$(git log -1 --format=%cd --date=format:%Y%m%d)
version="$base~git$stamp.$(git rev-parse --short=12 HEAD)"
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
	version="$version+dirty"
fi

stage=$(mktemp -d)
chmod 0755 "$stage"
trap 'rm -rf "$stage"' EXIT

install -d "$stage/DEBIAN" "$stage/usr/bin" "$stage/lib/systemd/system" \
	"$stage/etc/xmppbridge" "$stage/usr/share/doc/xmppbridge"
CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -ldflags='-s -w' \
	-o "$stage/usr/bin/xmppbridge" ./cmd/xmppbridge
install -m 0644 packaging/xmppbridge.service "$stage/lib/systemd/system/"
install -m 0644 xmppbridge.example.toml "$stage/etc/xmppbridge/xmppbridge.toml"
install -m 0644 README.md docs/json-api.md docs/json.md docs/bosh.md \
	"$stage/usr/share/doc/xmppbridge/"
for s in postinst prerm postrm; do
	install -m 0755 "packaging/debian/$s" "$stage/DEBIAN/$s"
done
echo /etc/xmppbridge/xmppbridge.toml >"$stage/DEBIAN/conffiles"

size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
cat >"$stage/DEBIAN/control" <<CONTROL
Package: xmppbridge
Version: $version
Architecture: $debarch
Maintainer: xmppbridge developers <xmppbridge@users.noreply.github.com>
Installed-Size: $size
Section: net
Priority: optional
Homepage: https://github.com/xmppbridge/xmppbridge
Description: WebSocket, BOSH and JSON front end for XMPP servers
 xmppbridge puts web browsers on existing Jabber/XMPP servers (Prosody,
 ejabberd, Openfire, any RFC 6120 server): per browser user it keeps one
 upstream client session and serves the browser over WebSocket (RFC 7395),
 BOSH (XEP-0124/0206) and a JSON API over WebSocket, SSE and long-poll.
 .
 The service listens on 127.0.0.1:5280 until /etc/xmppbridge/xmppbridge.toml
 says otherwise.
CONTROL

mkdir -p "$out"
deb="$out/xmppbridge_${version}_$debarch.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "$deb"
