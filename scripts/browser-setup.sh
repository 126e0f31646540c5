#!/usr/bin/env bash
# Install Debian's Chromium for the browser end-to-end tests (tests/browser/),
# only when /usr/bin/chromium is missing. Playwright drives this binary through
# its executable_path; no browser is downloaded by Playwright itself.
#
# Needs root (CI runs as root) and apt-get. When either is missing, it says so
# and exits 0: the browser tests then skip with the reason printed.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "browser-setup: apt-get not found; browser tests will be skipped" >&2
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "browser-setup: not root, cannot install chromium; browser tests will be skipped" >&2
    exit 0
fi

echo "browser-setup: installing Debian's chromium (first run only)"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends \
    chromium fonts-dejavu-core >/dev/null; }; then
    echo "browser-setup: installing chromium failed; browser tests will be skipped" >&2
    exit 0
fi
"$CHROMIUM" --version 2>/dev/null || true
