#!/usr/bin/env bash
# Project-local PostgreSQL for `make run` and `make test` when DATABASE_URL is unset.
#
#   scripts/pg.sh start   initialise (once) and start the server; prints nothing else
#   scripts/pg.sh url     print the URL of the ringback database (start first)
#   scripts/pg.sh stop    stop the server
#   scripts/pg.sh reset   stop, delete the data folder, start afresh
#
# Data lives in .pgdata/ (git-ignored) and the server listens on 127.0.0.1:$PGPORT
# (default 54329, so a system PostgreSQL on 5432 is never touched). It uses the system's
# PostgreSQL 15 binaries and installs Debian's postgresql package when they are missing.
# initdb refuses to run as root, so as root the server runs as the `postgres` user.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
data="$here/.pgdata"
port="${PGPORT:-54329}"
db=ringback

die() { echo "pg.sh: $*" >&2; exit 1; }

find_bindir() {
	local d
	if command -v pg_config >/dev/null 2>&1; then
		d=$(pg_config --bindir 2>/dev/null || true)
		[ -x "$d/initdb" ] && { echo "$d"; return; }
	fi
	for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && { echo "$d"; return; }
	done
}

ensure_binaries() {
	bindir=$(find_bindir || true)
	if [ -z "$bindir" ]; then
		echo "pg.sh: PostgreSQL server binaries not found; installing Debian's postgresql package" >&2
		[ "$(id -u)" = 0 ] || die "need root to install postgresql; install it and rerun"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq >&2
		apt-get install -y -qq postgresql >&2
		bindir=$(find_bindir) || die "postgresql installed but initdb not found"
	fi
}

# As root, run the server as `postgres` (the Debian package creates that user).
as_owner() {
	if [ "$(id -u)" = 0 ]; then
		id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

# pgdir is the data folder as the server's user reaches it (the link resolved).
pgdir() { readlink -f "$data"; }

running() { [ -e "$data" ] && as_owner "$bindir/pg_ctl" -D "$(pgdir)" status >/dev/null 2>&1; }

# The data folder must be reachable by the server's user. As root, in a checkout the
# postgres user cannot enter (under /root, say), the data lives in a folder of postgres's
# own and .pgdata is a link to it.
prepare_data() {
	[ -e "$data" ] && return
	if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$here"; then
		local real
		real="/var/lib/postgresql/ringback-$(echo "$here" | cksum | cut -d' ' -f1)"
		mkdir -p "$real"
		chown postgres: "$real"
		chmod 700 "$real"
		ln -s "$real" "$data"
		return
	fi
	mkdir -p "$data"
	[ "$(id -u)" = 0 ] && chown postgres: "$data"
	chmod 700 "$data"
}

start() {
	if [ ! -f "$data/PG_VERSION" ]; then
		prepare_data
		as_owner "$bindir/initdb" -D "$(pgdir)" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
		cat >>"$(pgdir)/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$(pgdir)'
max_connections = 200
shared_buffers = 256MB
fsync = on
synchronous_commit = on
log_min_messages = warning
CONF
	fi
	if ! running; then
		as_owner "$bindir/pg_ctl" -D "$(pgdir)" -l "$(pgdir)/server.log" -w -t 60 start >/dev/null ||
			{ tail -20 "$(pgdir)/server.log" >&2; die "server did not start"; }
	fi
	if ! as_owner "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -Atqc "select 1 from pg_database where datname='$db'" postgres | grep -q 1; then
		as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db"
	fi
}

case "${1:-start}" in
start) ensure_binaries; start ;;
url) echo "postgres://postgres@127.0.0.1:$port/$db?sslmode=disable" ;;
stop) ensure_binaries; running && as_owner "$bindir/pg_ctl" -D "$(pgdir)" -m fast -w stop >/dev/null || true ;;
reset)
	ensure_binaries
	running && as_owner "$bindir/pg_ctl" -D "$(pgdir)" -m fast -w stop >/dev/null || true
	[ -L "$data" ] && rm -rf "$(readlink "$data")"
	rm -rf "$data"
	start
	;;
*) die "usage: $0 start|url|stop|reset" ;;
esac
