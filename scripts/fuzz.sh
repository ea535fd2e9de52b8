#!/usr/bin/env bash
# Runs every fuzz target of the module, one at a time, each for a fixed time:
#
#   scripts/fuzz.sh [seconds-per-target]     # default $FUZZTIME, else 10
#
# Targets are discovered from the source (`func FuzzX(f *testing.F)` in any *_test.go), so
# a new one is fuzzed without touching this script. FUZZ_MATCH (an extended regexp) keeps
# only the targets whose name matches; FUZZMINIMIZETIME bounds the fuzzer's shrinking of
# each new input (default 100x, i.e. 100 attempts: Go's default of 60s per input stalls
# targets whose inputs are large and slow to run, such as tenant configs, for most of a
# short run).
#
# FUZZ_RACE=1 builds the targets with the race detector and without the fuzzer's coverage
# instrumentation: the fuzzer then mutates without coverage guidance (weaker), but the
# build reuses what `go test -race ./...` (make test) just compiled, where an instrumented
# build compiles every dependency again (minutes on a cold cache). Meant for a short run
# in CI right after the tests; `make fuzz` uses the guided build.
#
# Stops at the first failure and prints where the failing input was saved: a file under
# the package's testdata/fuzz/<FuzzName>/, which `go test` then runs as a regression case
# (commit it with the fix). Prints the executions of every target at the end.
# Needs no database: fuzz targets test parsers and handlers on fakes.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-${FUZZTIME:-10}}"
secs="${secs%s}"
if ! [[ "$secs" =~ ^[0-9]+$ ]] || [ "$secs" -eq 0 ]; then
	echo "usage: scripts/fuzz.sh [seconds-per-target]   (got '$secs')" >&2
	exit 2
fi
minimize="${FUZZMINIMIZETIME:-100x}"
buildflags=(-fuzz=.)
if [ "${FUZZ_RACE:-0}" = 1 ]; then
	buildflags=(-race)
fi
match="${FUZZ_MATCH:-.}"
GO="${GO:-go}"

# "<package dir> <FuzzName>" for every target, in a stable order.
mapfile -t targets < <(
	grep -rEo --include='*_test.go' --exclude-dir=.git --exclude-dir=.pgdata --exclude-dir=testdata \
		'^func Fuzz[A-Za-z0-9_]*\(' . 2>/dev/null |
		sed -E 's|^\./(.*)/[^/]*:func (Fuzz[A-Za-z0-9_]*)\($|\1 \2|; s|^\./[^/]*:func (Fuzz[A-Za-z0-9_]*)\($|. \1|' |
		awk -v m="$match" '$2 ~ m' | sort -u || true
)
if [ ${#targets[@]} -eq 0 ]; then
	echo "fuzz: no fuzz targets found (FUZZ_MATCH='$match')" >&2
	exit 1
fi
echo "fuzz: ${#targets[@]} targets, ${secs}s each (build: ${buildflags[*]})"

# Each package's test binary is built once, with the fuzzer's coverage instrumentation,
# and run for each of its targets: `go test -fuzz` per target would link the package
# again every time, which costs more than a short run fuzzes.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log="$work/log"
cache="$("$GO" env GOCACHE)/fuzz"
summary=()
start=$SECONDS
built=""
for t in "${targets[@]}"; do
	dir="${t% *}"
	name="${t#* }"
	bin="$work/$(echo "$dir" | tr '/.' '__').test"
	if [ "$dir" != "$built" ]; then
		if ! "$GO" test -c -vet=off "${buildflags[@]}" -o "$bin" "./$dir" >"$log" 2>&1; then
			cat "$log"
			echo "fuzz: building ./$dir failed"
			exit 1
		fi
		pkg="$("$GO" list "./$dir")"
		built="$dir"
	fi
	printf 'fuzz: %-40s ' "./$dir $name"
	run() {
		(cd "$dir" && "$bin" -test.run '^$' -test.fuzz "^${name}\$" -test.fuzztime "${secs}s" \
			-test.fuzzminimizetime "$minimize" -test.fuzzcachedir "$cache/$pkg") >"$log" 2>&1
	}
	ok=true
	run || ok=false
	# Go's fuzzer sometimes ends a run with "context deadline exceeded" and no failing
	# input when a worker is slow to stop at the deadline (worst on a busy machine and
	# without coverage instrumentation). That is the fuzzer, not the code: run it again
	# once; a real failure fails again, with its input saved.
	if ! $ok && grep -q 'context deadline exceeded' "$log" && ! grep -q 'testdata/fuzz/' "$log"; then
		ok=true
		run || ok=false
	fi
	if ! $ok; then
		echo "FAIL"
		cat "$log"
		saved="$(grep -Eo 'testdata/fuzz/[^ ]+' "$log" | head -n1 || true)"
		if [ -n "$saved" ]; then
			echo "fuzz: $name failed; the failing input is saved in $dir/$saved"
			echo "fuzz: reproduce with: go test -run '^${name}/$(basename "$saved")\$' ./$dir"
		else
			echo "fuzz: $name failed before fuzzing (a seed or corpus entry fails; see above)"
		fi
		exit 1
	fi
	execs="$(grep -Eo 'execs: [0-9]+' "$log" | tail -n1 | grep -Eo '[0-9]+' || echo 0)"
	echo "ok  ${execs} execs"
	summary+=("$(printf '%-28s %-22s %12s' "$name" "./$dir" "$execs")")
done
echo
printf '%-28s %-22s %12s\n' "target" "package" "execs"
printf '%s\n' "${summary[@]}"
echo "fuzz: all ${#targets[@]} targets passed in $((SECONDS - start))s (${secs}s each)"
