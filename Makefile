# Ringback — run `make help` for the targets.
#
# Without DATABASE_URL, `make run` and `make test` start a project-local PostgreSQL
# (data in .pgdata/, port 54329) with scripts/pg.sh, installing Debian's postgresql
# package when its binaries are missing.

SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
BIN       := bin
LOCAL     := .local
PGURL      = $(shell scripts/pg.sh url)

# The engine's environment for `make run`: the demo admin token and a per-checkout
# secret key generated once into .local/ (both git-ignored).
RUN_ADMIN_TOKEN ?= dev-admin-token
SECRET_FILE     := $(LOCAL)/engine-secret-key

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-zA-Z_/-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

.PHONY: build
build: ## build bin/engine (and the other commands)
	$(GO) build -o $(BIN)/ ./cmd/...

.PHONY: db
db: ## start the project-local Postgres (no-op when DATABASE_URL is set)
ifeq ($(DATABASE_URL),)
	@scripts/pg.sh start
endif

.PHONY: db/stop
db/stop: ## stop the project-local Postgres
	@scripts/pg.sh stop

.PHONY: db/reset
db/reset: ## delete the project-local Postgres data and start afresh
	@scripts/pg.sh reset

$(SECRET_FILE):
	@mkdir -p $(LOCAL)
	@head -c 32 /dev/urandom | base64 > $@

.PHONY: run
run: build db $(SECRET_FILE) ## build and start the engine with the demo tenant applied (sandbox SMS without Twilio credentials)
	@export DATABASE_URL="$${DATABASE_URL:-$(PGURL)}"; \
	export ADMIN_TOKEN="$${ADMIN_TOKEN:-$(RUN_ADMIN_TOKEN)}"; \
	export ENGINE_SECRET_KEY="$${ENGINE_SECRET_KEY:-$$(cat $(SECRET_FILE))}"; \
	export ENGINE_ADDR="$${ENGINE_ADDR:-127.0.0.1:8080}"; \
	echo "engine: admin token $$ADMIN_TOKEN, database $$DATABASE_URL"; \
	$(BIN)/engine serve & pid=$$!; \
	trap 'kill -TERM $$pid 2>/dev/null; wait $$pid' INT TERM EXIT; \
	for i in $$(seq 1 100); do curl -fsS "http://$$ENGINE_ADDR/readyz" >/dev/null 2>&1 && break; kill -0 $$pid 2>/dev/null || exit 1; sleep 0.1; done; \
	$(BIN)/engine apply -f examples/acme-plumbing.yaml --server "http://$$ENGINE_ADDR" || exit 1; \
	$(BIN)/engine invite --tenant acme-plumbing --email owner@acme-plumbing.example --name "Acme owner" --server "http://$$ENGINE_ADDR" || exit 1; \
	echo "engine: ready on http://$$ENGINE_ADDR — try: curl -H 'Authorization: Bearer $$ADMIN_TOKEN' http://$$ENGINE_ADDR/admin/v1/tenants/acme-plumbing"; \
	wait $$pid

.PHONY: cluster
cluster: build db $(SECRET_FILE) ## start etcd, three clustered engines and HAProxy in front on 127.0.0.1:8080, with the demo tenant (docs/CLUSTER.md)
	@scripts/cluster.sh

.PHONY: prom
prom: ## make promtool and prometheus available for the tests (installs Debian's prometheus package, as root, when missing)
	@scripts/prom.sh >/dev/null

.PHONY: etcd
etcd: ## start the project-local etcd (cluster membership; installs Debian's etcd-server when missing)
	@scripts/etcd.sh start

.PHONY: etcd/stop
etcd/stop: ## stop the project-local etcd
	@scripts/etcd.sh stop

.PHONY: test
test: db prom etcd ## run the whole suite with the race detector against a real Postgres, etcd, Prometheus and Chromium
	CHROMIUM="$$(scripts/chromium.sh)" TEST_DATABASE_URL="$${TEST_DATABASE_URL:-$${DATABASE_URL:-$(PGURL)}}" \
		TEST_ETCD_ENDPOINTS="$${TEST_ETCD_ENDPOINTS:-$$(scripts/etcd.sh url)}" $(GO) test -race -count=1 ./...

.PHONY: screenshots
screenshots: db ## the console's browser test, writing its screenshots to docs/console/
	CHROMIUM="$$(scripts/chromium.sh)" CONSOLE_SCREENSHOTS=$(CURDIR)/docs/console TEST_DATABASE_URL="$${TEST_DATABASE_URL:-$${DATABASE_URL:-$(PGURL)}}" \
		$(GO) test -count=1 -run TestConsoleInABrowser ./cmd/engine/

.PHONY: lint
lint: ## gofmt, go vet and the layering check
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...

.PHONY: proto
proto: ## regenerate the protobuf code of the grain messages (the generated code is committed; a build needs no protoc)
	@GO=$(GO) scripts/proto.sh

.PHONY: bench
bench: db ## run the benchmarks (numbers go in docs/PERFORMANCE.md)
	TEST_DATABASE_URL="$${TEST_DATABASE_URL:-$${DATABASE_URL:-$(PGURL)}}" $(GO) test -run '^$$' -bench . -benchtime 1x ./cmd/engine/
	$(GO) test -run '^$$' -bench . ./actors/...

# docs/LOADTEST.md's run 1; LOADTEST_ARGS=… picks others (go run ./cmd/loadtest -h).
LOADTEST_ARGS ?= --baseline missed-calls:100 missed-calls:250 conversations:20 hot-slot:200 booking-api:200

.PHONY: loadtest
loadtest: db ## run the load-test harness on a fresh engine and database; reports in .local/loadtest (docs/LOADTEST.md)
	$(GO) run ./cmd/loadtest --database-url "$${DATABASE_URL:-$(PGURL)}" --out $(LOCAL)/loadtest $(LOADTEST_ARGS)

.PHONY: fuzz
fuzz: ## fuzz every parser and handler, 60 s per target (FUZZTIME=s to change; no database needed)
	scripts/fuzz.sh $${FUZZTIME:-60}

.PHONY: fuzz/short
fuzz/short: ## the CI form of make fuzz: every fuzz target for 3 s
	FUZZ_RACE=1 scripts/fuzz.sh 3

.PHONY: chaos
chaos: db ## fault-injection suite, full amounts: 20 kill -9s, 30 s database outage, minutes of vendor faults, slow database (~15-20 min; docs/FAULTS.md)
	$(GO) run ./cmd/chaos --long --database-url "$${DATABASE_URL:-$(PGURL)}" --report $(LOCAL)/chaos-report.md

.PHONY: chaos/short
chaos/short: db ## the CI form of make chaos (~2 min)
	$(GO) run ./cmd/chaos --database-url "$${DATABASE_URL:-$(PGURL)}" --report $(LOCAL)/chaos-short-report.md

.PHONY: chaos/cluster
chaos/cluster: db ## the cluster under faults: etcd, three engines, HAProxy; 10 kill -9s of random engines and a rolling restart (~5 min; docs/CLUSTER.md)
	$(GO) run ./cmd/chaos --cluster --long --database-url "$${DATABASE_URL:-$(PGURL)}" --report $(LOCAL)/chaos-cluster-report.md

.PHONY: chaos/cluster/short
chaos/cluster/short: db ## the CI form of make chaos/cluster: 3 kills and a rolling restart (~3 min)
	$(GO) run ./cmd/chaos --cluster --database-url "$${DATABASE_URL:-$(PGURL)}" --report $(LOCAL)/chaos-cluster-short-report.md

.PHONY: clean
clean: ## remove build output (not the database)
	rm -rf $(BIN)
