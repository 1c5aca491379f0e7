#!/usr/bin/env bash
# Build the external renderers kubeward drives (helm, kustomize) and the test tools (the Pod
# Security admission library, distribution/reference, opa, crane, cosign, a registry with the
# referrers API) from the Go module proxy, once per version, into a cache outside the
# repository. Used by `make tools` (and so by `make demo` / `make test`); users install these
# tools their own way.
#
#   tools/build-go-tools.sh            # build what is missing, print the bin directory
#
# Go is needed only here (test and demo infrastructure); kubeward itself is pure Python.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"
CRANE_VERSION="${CRANE_VERSION:-v0.22.1}"
COSIGN_VERSION="${COSIGN_VERSION:-v3.1.2}"
KUSTOMIZE_VERSION="${KUSTOMIZE_VERSION:-v5.8.1}"
OPA_VERSION="${OPA_VERSION:-v1.22.3}"
CACHE="${KUBEWARD_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubeward/tools}"
BIN="$CACHE/bin"
mkdir -p "$BIN"

export GOTOOLCHAIN=local CGO_ENABLED=0

build() { # name version package ldflags
    local name=$1 version=$2 package=$3 ldflags=$4
    local target="$CACHE/$name-$version/$name"
    if [ ! -x "$target" ]; then
        if ! command -v go >/dev/null 2>&1; then
            echo "build-go-tools: go is not installed; cannot build $name $version" >&2
            exit 1
        fi
        echo "build-go-tools: building $name $version (first time only, ~2 min)..." >&2
        local tmp
        tmp=$(mktemp -d)
        if ! GOBIN="$tmp" go install -trimpath -ldflags "$ldflags" "$package@$version" >"$tmp/log" 2>&1; then
            cat "$tmp/log" >&2
            echo "build-go-tools: building $name $version failed" >&2
            exit 1
        fi
        mkdir -p "$(dirname "$target")"
        mv "$tmp/$name" "$target"
        rm -rf "$tmp"
    fi
    ln -sf "$target" "$BIN/$name"
}

# Test oracle: the Pod Security admission library, wrapped (tools/psa-oracle). Rebuilt when
# its sources change (the cache key is a hash of them).
build_local() { # name directory
    local name=$1 dir=$2
    local key
    key=$(cat "$dir/go.mod" "$dir/go.sum" "$dir"/*.go | sha256sum | cut -c1-16)
    local target="$CACHE/$name-$key/$name"
    if [ ! -x "$target" ]; then
        echo "build-go-tools: building $name (first time only)..." >&2
        mkdir -p "$(dirname "$target")"
        if ! (cd "$dir" && go build -trimpath -o "$target" . ) >"$CACHE/$name-build.log" 2>&1; then
            cat "$CACHE/$name-build.log" >&2
            echo "build-go-tools: building $name failed" >&2
            exit 1
        fi
    fi
    ln -sf "$target" "$BIN/$name"
}

build helm "$HELM_VERSION" helm.sh/helm/v3/cmd/helm \
    "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
build kustomize "$KUSTOMIZE_VERSION" sigs.k8s.io/kustomize/kustomize/v5 "-s -w"
# Test tools for image signatures: crane pushes images to the test registry, cosign signs them
# in both of its formats (first build of cosign ~4 min).
build crane "$CRANE_VERSION" github.com/google/go-containerregistry/cmd/crane "-s -w"
build cosign "$COSIGN_VERSION" github.com/sigstore/cosign/v3/cmd/cosign "-s -w"
# Test oracle for users' Rego policies: kubeward evaluates Rego with regorus; the
# differential test runs `opa eval` on the same policies and inputs. Never needed at runtime.
build opa "$OPA_VERSION" github.com/open-policy-agent/opa \
    "-s -w -X github.com/open-policy-agent/opa/v1/version.Version=${OPA_VERSION#v}"
build_local psa-oracle "$(cd "$(dirname "$0")" && pwd)/psa-oracle"
# Test oracle for image references: github.com/distribution/reference, the parser containerd,
# CRI-O and the kubelet use (tools/imageref-oracle; seconds to build).
build_local imageref-oracle "$(cd "$(dirname "$0")" && pwd)/imageref-oracle"
# Test registry with the OCI 1.1 referrers API: go-containerregistry's pkg/registry (pinned in
# its go.mod, crane's version) with referrers on, which `crane registry serve` leaves off
# (tools/oci-registry). Debian's docker-registry answers 404 there.
build_local oci-registry "$(cd "$(dirname "$0")" && pwd)/oci-registry"
echo "$BIN"
