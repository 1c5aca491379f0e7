#!/usr/bin/env bash
# Build the test control plane — etcd, kube-apiserver, kube-controller-manager — from the Go
# module proxy, once per version, into a cache outside the repository; print its bin directory.
# Used by `make testcluster` (and so by `make test`). Test infrastructure only: kubeward itself
# is pure Python. Recipe and versions: ../shared/notes/test-cluster.md.
#
#   tools/testcluster/build.sh            # build what is missing (cold: ~15-25 min on 2 cores)
#   tools/testcluster/build.sh --bin-dir  # only print where the binaries are (or will be)
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
KUBERNETES_VERSION="1.35.4"   # must match tools/testcluster/kubernetes/go.mod
ETCD_VERSION="3.6.16"         # must match tools/testcluster/etcd/go.mod
CACHE="${KUBEWARD_TESTCLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeward/testcluster}"
BIN="$CACHE/v$KUBERNETES_VERSION-etcd$ETCD_VERSION/bin"
if [ "${1:-}" = "--bin-dir" ]; then
    echo "$BIN"
    exit 0
fi
mkdir -p "$BIN"

export GOTOOLCHAIN=local CGO_ENABLED=0

if ! command -v go >/dev/null 2>&1; then
    echo "testcluster: go is not installed; cannot build the test control plane" >&2
    exit 1
fi

build() { # binary module-dir package ldflags tags
    local name=$1 dir=$2 package=$3 ldflags=$4 tags=$5
    [ -x "$BIN/$name" ] && return 0
    echo "testcluster: building $name (first time only)..." >&2
    local log="$CACHE/$name-build.log"
    if ! (cd "$dir" && go build -trimpath -tags "$tags" -ldflags "$ldflags" -o "$BIN/$name.tmp" "$package") >"$log" 2>&1; then
        tail -50 "$log" >&2
        echo "testcluster: building $name failed (full log: $log)" >&2
        exit 1
    fi
    mv "$BIN/$name.tmp" "$BIN/$name"
}

# Version stamps, as kubernetes' hack/lib/version.sh sets them: without them /version reports
# v0.0.0-master, which clients (and peer tools) read.
minor="${KUBERNETES_VERSION#1.}"; minor="${minor%%.*}"
stamp="-s -w"
for package in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    stamp="$stamp -X $package.gitVersion=v$KUBERNETES_VERSION -X $package.gitMajor=1"
    stamp="$stamp -X $package.gitMinor=$minor -X $package.gitTreeState=clean"
done

build etcd "$HERE/etcd" go.etcd.io/etcd/server/v3 "-s -w" ""
build kube-apiserver "$HERE/kubernetes" k8s.io/kubernetes/cmd/kube-apiserver "$stamp" selinux,notest,grpcnotrace
build kube-controller-manager "$HERE/kubernetes" k8s.io/kubernetes/cmd/kube-controller-manager "$stamp" selinux,notest,grpcnotrace
echo "$BIN"
