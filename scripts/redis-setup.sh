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
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! "$HERE/apt-install.sh" redis-setup "Redis tests" redis-server; then
    exit 0
fi
# The package starts a system-wide server; the tests do not use it.
if command -v systemctl >/dev/null 2>&1; then
    systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
redis-server --version
