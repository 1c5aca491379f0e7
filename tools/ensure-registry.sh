#!/usr/bin/env bash
# The image-signature tests push to a real OCI registry (tests/registry.py starts Debian's
# docker-registry on 127.0.0.1 with its own config). Install the package when it is missing;
# needs root. Debian's unit is never started: the tests run their own instance.
set -euo pipefail
if command -v docker-registry >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "ensure-registry: docker-registry is not installed; install 'docker-registry' (Debian) to run its tests" >&2
    exit 0
fi
echo "ensure-registry: installing docker-registry from Debian's packages..." >&2
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null
