#!/usr/bin/env bash
# Build the Go tools the benchmarks use — peers they compare against (kubectl-who-can) and the
# load generator (vegeta) — from the Go module proxy, once per version, into a cache outside the
# repository; prints the binary's path.
#
#   bench/peers/build.sh kubectl-who-can
#   bench/peers/build.sh vegeta
#
# Each peer is a wrapper module here (go.mod + go.sum pin the version and its dependencies):
# `go install pkg@version` fails for kubectl-who-can because the proxy refuses the module's
# version list (a deprecation lookup), while building a required module does not need it.
set -euo pipefail

name=${1:?usage: bench/peers/build.sh PEER}
here=$(cd "$(dirname "$0")" && pwd)
dir="$here/$name"
[ -f "$dir/go.mod" ] || { echo "peers/build.sh: unknown peer $name" >&2; exit 2; }
cache="${KUBEWARD_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeward/tools}"
key=$(cat "$dir/go.mod" "$dir/go.sum" | sha256sum | cut -c1-16)
target="$cache/$name-$key/$name"
if [ ! -x "$target" ]; then
    export GOTOOLCHAIN=local CGO_ENABLED=0
    package=$(sed -n 's/^import _ "\(.*\)"$/\1/p' "$dir/tools.go")
    echo "peers/build.sh: building $name (first time only, ~1 min)..." >&2
    mkdir -p "$(dirname "$target")"
    if ! (cd "$dir" && go build -trimpath -ldflags "-s -w" -o "$target" "$package") \
        >"$cache/$name-build.log" 2>&1; then
        cat "$cache/$name-build.log" >&2
        echo "peers/build.sh: building $name failed" >&2
        exit 1
    fi
fi
echo "$target"
