#!/usr/bin/env bash
# `make cluster`: a cluster of three engines on loopback for a person to try, as
# docs/CLUSTER.md describes it: a project-local etcd (membership), three engines
# (127.0.0.1:8081-8083, cluster listeners on 12001, 22001, 32001) and HAProxy in front on
# 127.0.0.1:8080 (health-checked on /readyz, retrying a request a dying engine dropped),
# with the demo tenant applied and a sign-in link for its owner printed. Ctrl-C stops it
# all: each engine leaves the cluster gracefully. Logs are in .local/cluster/.
#
# Expects bin/engine built and the project-local Postgres started (the Makefile does both).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
dir="$here/.local/cluster"
mkdir -p "$dir"
lb="127.0.0.1:${CLUSTER_LB_PORT:-8080}"
export DATABASE_URL="${DATABASE_URL:-$(scripts/pg.sh url)}"
export ADMIN_TOKEN="${ADMIN_TOKEN:-dev-admin-token}"
export ENGINE_SECRET_KEY="${ENGINE_SECRET_KEY:-$(cat .local/engine-secret-key)}"
haproxy=$(scripts/haproxy.sh)

pids=()
cleanup() {
	trap - INT TERM EXIT
	echo "cluster: stopping (each engine leaves the cluster)"
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	scripts/etcd.sh stop "$dir/etcd"
}
trap cleanup INT TERM EXIT

scripts/etcd.sh start "$dir/etcd"
bin/engine migrate >/dev/null

# Cluster ports whose addresses differ early: Proto.Actor's rendezvous hash (FNV-1a of
# identity+address) spreads identities unevenly over addresses that differ only in
# their last character (docs/CLUSTER.md).
ports=(12001 22001 32001)
servers=""
for i in 1 2 3; do
	addr="127.0.0.1:808$i"
	ENGINE_ADDR="$addr" PUBLIC_URL="http://$lb" CLUSTER_PROVIDER=etcd CLUSTER_ETCD_ENDPOINTS="$(scripts/etcd.sh url)" \
		CLUSTER_ADVERTISE_ADDR="127.0.0.1:${ports[$((i - 1))]}" bin/engine serve >"$dir/engine$i.log" 2>&1 &
	pids+=($!)
	servers+="    server engine$i $addr check"$'\n'
done
for i in 1 2 3; do
	for _ in $(seq 1 150); do
		curl -fsS "http://127.0.0.1:808$i/readyz" >/dev/null 2>&1 && break
		kill -0 "${pids[$((i - 1))]}" 2>/dev/null || { tail -20 "$dir/engine$i.log" >&2; echo "cluster: engine $i exited" >&2; exit 1; }
		sleep 0.2
	done
done

cat >"$dir/haproxy.cfg" <<CFG
global
    maxconn 4096
defaults
    mode http
    timeout connect 1s
    timeout client 90s
    timeout server 90s
    # Every request the engine serves is safe to repeat (webhooks are stored under their
    # unique key, reservations carry an Idempotency-Key): one an engine dropped as it died
    # is sent again to another.
    option http-buffer-request
    retry-on conn-failure empty-response response-timeout 502 503
    retries 3
    option redispatch 1
frontend ringback
    bind $lb
    default_backend engines
backend engines
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
$servers
CFG
"$haproxy" -f "$dir/haproxy.cfg" -db >"$dir/haproxy.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do curl -fsS "http://$lb/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

bin/engine apply -f examples/acme-plumbing.yaml --server "http://$lb"
bin/engine invite --tenant acme-plumbing --email owner@acme-plumbing.example --name "Acme owner" --server "http://$lb"
echo "cluster: three engines behind http://$lb (admin token $ADMIN_TOKEN); logs in $dir"
echo "cluster: try bin/engine simulate missed-call --from +15125550199 --to +15125550100 --server http://$lb"
echo "cluster: kill one (kill -9 on a pid in: ${pids[*]:0:3}) and the others take over its callers"
wait "${pids[@]}"
