#!/usr/bin/env bash
# Installs Debian packages some tests need: apt-install.sh TAG TESTS PACKAGE...
# TAG names the calling script in messages, TESTS the tests that skip without the
# packages. Needs root (CI runs as root) and apt-get. Exits 0 once installed; when
# either is missing or the install fails, it says so and exits 1, and the caller
# goes on without them (those tests then skip, with the reason printed).
set -euo pipefail

tag="$1"
tests="$2"
shift 2

if ! command -v apt-get >/dev/null 2>&1; then
    echo "$tag: apt-get not found; $tests will be skipped" >&2
    exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "$tag: not root, cannot install $*; $tests will be skipped" >&2
    exit 1
fi
echo "$tag: installing Debian's $* (first run only)"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@" >/dev/null; }; then
    echo "$tag: installing $* failed; $tests will be skipped" >&2
    exit 1
fi
