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
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! "$HERE/apt-install.sh" browser-setup "browser tests" chromium fonts-dejavu-core; then
    exit 0
fi
"$CHROMIUM" --version 2>/dev/null || true
