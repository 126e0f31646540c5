#!/usr/bin/env bash
# Install Debian's redis-server for the shared job store's tests (tests/service,
# tests/scale), only when it is missing. The tests start their own redis-server
# processes on free loopback ports in temporary folders; nothing is left running.
#
# Needs root (CI runs as root) and apt-get. When either is missing, it says so
# and exits 0: the Redis tests then skip with the reason printed.
set -euo pipefail

if command -v redis-server >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "redis-setup: apt-get not found; Redis tests will be skipped" >&2
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "redis-setup: not root, cannot install redis-server; Redis tests will be skipped" >&2
    exit 0
fi

echo "redis-setup: installing Debian's redis-server (first run only)"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends \
    redis-server >/dev/null; }; then
    echo "redis-setup: installing redis-server failed; Redis tests will be skipped" >&2
    exit 0
fi
# The package starts a system-wide server; the tests do not use it.
if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
redis-server --version
