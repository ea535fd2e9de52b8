#!/usr/bin/env bash
# Regenerates the Go code of every .proto file under actors/ (the grain messages' wire
# form) for `make proto`. The generated .pb.go files are committed: a build needs no protoc.
#
# It uses Debian's protoc, installing the protobuf-compiler package (and libprotobuf-dev,
# which holds the well-known types' .proto files) when missing, and protoc-gen-go at the
# version of google.golang.org/protobuf in go.mod, installed into .local/bin (git-ignored),
# so the generated code always matches the runtime it links against.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bin="$here/.local/bin"
go="${GO:-go}"

die() { echo "proto.sh: $*" >&2; exit 1; }

# wkt_dir prints the include folder holding google/protobuf/timestamp.proto.
wkt_dir() {
	local d
	for d in /usr/include /usr/local/include; do
		[ -f "$d/google/protobuf/timestamp.proto" ] && { echo "$d"; return; }
	done
}

ensure_protoc() {
	command -v protoc >/dev/null 2>&1 && [ -n "$(wkt_dir)" ] && return
	echo "proto.sh: protoc or the well-known types not found; installing Debian's protobuf-compiler and libprotobuf-dev packages" >&2
	[ "$(id -u)" = 0 ] || die "need root to install protobuf-compiler and libprotobuf-dev; install them and rerun"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq protobuf-compiler libprotobuf-dev >&2
	command -v protoc >/dev/null 2>&1 || die "protobuf-compiler installed but protoc not found"
	[ -n "$(wkt_dir)" ] || die "libprotobuf-dev installed but google/protobuf/timestamp.proto not found"
}

ensure_protoc_gen_go() {
	local want have
	want=$(cd "$here" && "$go" list -m -f '{{.Version}}' google.golang.org/protobuf)
	have=$("$bin/protoc-gen-go" --version 2>/dev/null | awk '{print $2}' || true)
	[ "$have" = "$want" ] && return
	echo "proto.sh: installing protoc-gen-go $want into .local/bin" >&2
	(cd "$here" && GOBIN="$bin" "$go" install "google.golang.org/protobuf/cmd/protoc-gen-go@$want")
}

ensure_protoc
ensure_protoc_gen_go

cd "$here"
mapfile -t protos < <(git ls-files --cached --others --exclude-standard 'actors/*.proto' | sort)
[ "${#protos[@]}" -gt 0 ] || die "no .proto files under actors/"
# Imports are written from the module root (import "actors/wirepb/wire.proto"), and
# module=ringback puts each .pb.go next to its .proto by its go_package.
PATH="$bin:$PATH" protoc -I . -I "$(wkt_dir)" \
	--go_out=. --go_opt=module=ringback \
	"${protos[@]}"
echo "proto.sh: generated from $(protoc --version) and $("$bin/protoc-gen-go" --version): ${protos[*]}" >&2
