#!/usr/bin/env bash
# Prints the path of a headless-capable Chromium for the console's browser tests,
# installing Debian's chromium package when none is found (the way pg.sh installs
# PostgreSQL). No browser is ever downloaded from anywhere else.
set -euo pipefail

find_chromium() {
	local c
	for c in "${CHROMIUM:-}" chromium chromium-browser google-chrome; do
		[ -n "$c" ] && command -v "$c" >/dev/null 2>&1 && { command -v "$c"; return; }
	done
}

path=$(find_chromium || true)
if [ -z "$path" ]; then
	echo "chromium.sh: no Chromium found; installing Debian's chromium package" >&2
	[ "$(id -u)" = 0 ] || { echo "chromium.sh: need root to install chromium; install it and rerun" >&2; exit 1; }
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq chromium fonts-dejavu-core >&2
	path=$(find_chromium || true)
	[ -n "$path" ] || { echo "chromium.sh: chromium did not install" >&2; exit 1; }
fi
echo "$path"
