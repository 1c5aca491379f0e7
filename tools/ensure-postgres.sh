#!/usr/bin/env bash
# The history-store tests run against a real PostgreSQL server (tests/postgres.py starts one
# in a temporary directory). Install Debian's package when it is missing; needs root.
set -euo pipefail
if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "ensure-postgres: PostgreSQL is not installed; install 'postgresql' (Debian) to run its tests" >&2
    exit 0
fi
echo "ensure-postgres: installing PostgreSQL from Debian's packages..." >&2
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
