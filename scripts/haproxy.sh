#!/usr/bin/env bash
# Prints the path of Debian's HAProxy, the load balancer in front of a cluster of engines
# (`make cluster`, the cluster chaos suite), installing the haproxy package when it is
# missing. Nothing is downloaded from anywhere else.
set -euo pipefail

find_haproxy() {
	local c
	for c in "${HAPROXY:-}" haproxy /usr/sbin/haproxy; do
		[ -n "$c" ] && command -v "$c" >/dev/null 2>&1 && { command -v "$c"; return; }
	done
}

path=$(find_haproxy || true)
if [ -z "$path" ]; then
	echo "haproxy.sh: haproxy not found; installing Debian's haproxy package" >&2
	[ "$(id -u)" = 0 ] || { echo "haproxy.sh: need root to install haproxy; install it and rerun" >&2; exit 1; }
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq haproxy >&2
	# The package starts a system service; this project runs its own on its own ports.
	(systemctl disable --now haproxy >/dev/null 2>&1 || service haproxy stop >/dev/null 2>&1 || true)
	path=$(find_haproxy || true)
	[ -n "$path" ] || { echo "haproxy.sh: haproxy did not install" >&2; exit 1; }
fi
echo "$path"
