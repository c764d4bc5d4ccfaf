#!/usr/bin/env bash
# test.sh: the project's one test command, for developers and CI alike.
#
# Installs what the tests need and is missing (Prosody, ejabberd, openssl,
# iproute2, curl, HAProxy, Chromium from Debian's packages; the npm modules of
# interop/), then checks formatting, vets the code with and without the
# integration tag, and runs every test: the JSON client's own tests in Node,
# then unit, integration against a real Prosody, and interop with real npm
# clients against Prosody and ejabberd. It stops at the first step that
# fails; go test comes last, so its summary lines end the output.
#
# Needs Go and Node.js with npm already installed; installing Debian
# packages needs root (or the packages already there).

set -euo pipefail

cd "$(dirname "$0")/.."

step() {
	echo "==> $*"
}

# Go lives outside the default PATH on some machines.
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
	export PATH=$PATH:/usr/local/go/bin
fi
for tool in go node npm; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "test.sh: $tool is not installed; it is expected on the machine" >&2
		exit 1
	fi
done

# ---------------------------------------------------------------- packages

# testbed.sh keeps the list of what each server of the test bed needs; it
# runs apt-get update and install only when something is missing. The output
# is shown only when that fails.
step "system packages"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! scripts/testbed.sh install prosody ejabberd >"$log" 2>&1; then
	cat "$log" >&2
	echo "test.sh: installing the test bed's packages failed" >&2
	exit 1
fi
grep -h '^testbed: installing' "$log" || true
# Debian's Chromium for the browser tests (Converse.js in interop/); never a
# browser a tool downloads by itself.
if ! command -v chromium >/dev/null 2>&1; then
	echo "installing chromium"
	if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o Dpkg::Use-Pty=0 chromium fonts-liberation; } >"$log" 2>&1; then
		cat "$log" >&2
		echo "test.sh: installing chromium failed" >&2
		exit 1
	fi
fi

# ---------------------------------------------------------------- npm

# npm ci only when interop/node_modules does not match package-lock.json;
# the lock file's hash is kept beside the modules to tell.
step "npm modules (interop/)"
lock_hash=$(sha256sum interop/package-lock.json | cut -d' ' -f1)
stamp=interop/node_modules/.xmppbridge-lock-sha256
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$lock_hash" ]; then
	echo "npm ci in interop/"
	if ! (cd interop && npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1; then
		cat "$log" >&2
		echo "test.sh: npm ci in interop/ failed" >&2
		exit 1
	fi
	echo "$lock_hash" >"$stamp"
fi

# ---------------------------------------------------------------- JavaScript

# The JSON API's browser client (web/), in Node's own test runner: no npm
# packages.
step "node --test web/test/"
for f in web/*.js web/test/*.mjs; do
	node --check "$f"
done
node --test web/test/

# ---------------------------------------------------------------- Go

step "gofmt -l"
unformatted=$(find . -path ./.git -prune -o -path ./interop/node_modules -prune -o -name '*.go' -print0 |
	xargs -0 -r gofmt -l)
if [ -n "$unformatted" ]; then
	echo "test.sh: these files need gofmt:" >&2
	echo "$unformatted" >&2
	exit 1
fi

step "go vet ./..."
go vet ./...

step "go vet -tags integration ./..."
go vet -tags integration ./...

# go test ends a package's test binary after 10 minutes by default. The
# interop package runs every client against Prosody and ejabberd and takes
# about 7 minutes with -race on a busy two-CPU machine; 30 minutes keeps a
# slow run from being cut off while staying far inside CI's 90.
step "go test -race -count=1 -timeout 30m -tags integration ./..."
rm -f "$log"
trap - EXIT
exec go test -race -count=1 -timeout 30m -tags integration ./...
