#!/usr/bin/env bash
# Makes Prometheus's `promtool` and `prometheus` binaries available for the tests
# (cmd/engine/prometheus_test.go) and prints the one directory holding both.
#
#   scripts/prom.sh        find them (PATH, then /usr/bin); install Debian's prometheus
#                          package when missing; print their directory on stdout
#
# Installing needs root. The package's maintainer scripts would enable and start a
# prometheus service; a temporary /usr/sbin/policy-rc.d that answers 101 ("action
# forbidden") stops invoke-rc.d from starting anything, with or without systemd (the one
# we replace, if any, is put back afterwards), and the service is then disabled for the
# next boot too. Recommends (node-exporter) are skipped.
set -euo pipefail

die() { echo "prom.sh: $*" >&2; exit 1; }

# find_dir prints the first directory, along PATH and then /usr/bin, that holds both.
find_dir() {
	local d
	local IFS=:
	for d in $PATH /usr/bin; do
		[ -n "$d" ] || continue
		if [ -x "$d/promtool" ] && [ -x "$d/prometheus" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

install_package() {
	[ "$(id -u)" = 0 ] || die "promtool/prometheus not found and not root: run 'sudo apt-get install --no-install-recommends prometheus' (or as root: scripts/prom.sh)"
	command -v apt-get >/dev/null 2>&1 || die "promtool/prometheus not found and apt-get is missing: install Prometheus 2.x and put promtool and prometheus on PATH"
	echo "prom.sh: promtool/prometheus not found; installing Debian's prometheus package" >&2

	local rcd=/usr/sbin/policy-rc.d saved=""
	if [ -e "$rcd" ]; then
		saved=$(mktemp)
		cp -p "$rcd" "$saved"
	fi
	# shellcheck disable=SC2064 # expand now: the paths are fixed
	trap "restore_policy '$rcd' '$saved'" EXIT
	printf '#!/bin/sh\n# scripts/prom.sh: no service starts while it installs prometheus\nexit 101\n' >"$rcd"
	chmod 755 "$rcd"

	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq --no-install-recommends prometheus >&2

	# The package also enables its service for the next boot; the tests want binaries,
	# not a server on :9090.
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
		systemctl disable --now prometheus.service >&2 || true
	elif command -v deb-systemd-helper >/dev/null 2>&1; then
		DPKG_MAINTSCRIPT_PACKAGE=prometheus deb-systemd-helper disable prometheus.service >&2 || true
	fi
	if command -v update-rc.d >/dev/null 2>&1; then
		update-rc.d prometheus disable >/dev/null 2>&1 || true
	fi
}

restore_policy() {
	local rcd=$1 saved=$2
	if [ -n "$saved" ]; then
		mv -f "$saved" "$rcd"
	else
		rm -f "$rcd"
	fi
}

if dir=$(find_dir); then
	echo "$dir"
	exit 0
fi
install_package
dir=$(find_dir) || die "prometheus installed but promtool/prometheus not found on PATH or in /usr/bin"
echo "$dir"
