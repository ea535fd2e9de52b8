#!/usr/bin/env bash
# A project-local etcd, the membership store of a cluster of engines (`make cluster`, the
# cluster chaos suite and its tests). It uses Debian's etcd-server, installing the package
# when the binary is missing (the way pg.sh installs PostgreSQL); nothing is downloaded
# from anywhere else.
#
#   scripts/etcd.sh start [DIR]   start etcd (data in DIR, default .local/etcd) unless it runs; prints nothing else
#   scripts/etcd.sh url           print its client URL
#   scripts/etcd.sh stop [DIR]    stop it
#   scripts/etcd.sh bin           print the path of the etcd binary (installing it if need be)
#
# It listens on 127.0.0.1:$ETCD_PORT (default 23790; peers on ETCD_PORT+10), so a system
# etcd on 2379 is never touched.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
port="${ETCD_PORT:-23790}"
peer=$((port + 10))

die() { echo "etcd.sh: $*" >&2; exit 1; }

find_etcd() {
	local c
	for c in "${ETCD:-}" etcd /usr/bin/etcd; do
		[ -n "$c" ] && command -v "$c" >/dev/null 2>&1 && { command -v "$c"; return; }
	done
}

ensure_binary() {
	bin=$(find_etcd || true)
	if [ -z "$bin" ]; then
		echo "etcd.sh: etcd not found; installing Debian's etcd-server package" >&2
		[ "$(id -u)" = 0 ] || die "need root to install etcd-server; install it and rerun"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >&2
		apt-get install -y -qq etcd-server >&2
		# The package starts a system service on 2379; this project runs its own.
		(systemctl disable --now etcd >/dev/null 2>&1 || service etcd stop >/dev/null 2>&1 || true)
		bin=$(find_etcd || true)
		[ -n "$bin" ] || die "etcd-server installed but etcd not found"
	fi
}

url() { echo "http://127.0.0.1:$port"; }

healthy() { curl -fsS --max-time 1 "$(url)/health" 2>/dev/null | grep -q '"health":"true"'; }

start() {
	local dir="${1:-$here/.local/etcd}"
	ensure_binary
	healthy && return 0
	mkdir -p "$dir"
	# etcd 3.4 on a machine other than amd64/arm64 needs this; harmless elsewhere.
	ETCD_UNSUPPORTED_ARCH="${ETCD_UNSUPPORTED_ARCH:-$(dpkg --print-architecture 2>/dev/null || echo amd64)}" \
	nohup "$bin" --name ringback --data-dir "$dir/data" \
		--listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \
		--listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
		--initial-cluster "ringback=http://127.0.0.1:$peer" --initial-cluster-state new \
		--log-level warn --logger zap >"$dir/etcd.log" 2>&1 &
	echo $! >"$dir/etcd.pid"
	for _ in $(seq 1 100); do
		healthy && return 0
		kill -0 "$(cat "$dir/etcd.pid")" 2>/dev/null || { tail -20 "$dir/etcd.log" >&2; die "etcd exited"; }
		sleep 0.1
	done
	tail -20 "$dir/etcd.log" >&2
	die "etcd did not become healthy on $(url)"
}

stop() {
	local dir="${1:-$here/.local/etcd}"
	[ -f "$dir/etcd.pid" ] || return 0
	kill "$(cat "$dir/etcd.pid")" 2>/dev/null || true
	rm -f "$dir/etcd.pid"
}

case "${1:-}" in
start) start "${2:-}" ;;
stop) stop "${2:-}" ;;
url) url ;;
bin) ensure_binary; echo "$bin" ;;
*) die "usage: etcd.sh start|stop|url|bin" ;;
esac
