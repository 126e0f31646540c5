#!/usr/bin/env bash
# Set up, then run every check: ruff (lint and format), mypy and pytest.
# Extra arguments are passed on to pytest. Every check runs even when an
# earlier one fails; the exit status is non-zero if any of them failed.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

scripts/setup.sh
# Debian's chromium for tests/browser/ (installed only when missing).
scripts/browser-setup.sh
# Debian's redis-server for the job store and scale-out tests (installed only when missing).
scripts/redis-setup.sh

PY=.venv/bin/python

# Lint only the folders that exist (git does not keep empty folders).
paths=()
for dir in src tests benchmarks; do
    if [ -d "$dir" ]; then
        paths+=("$dir")
    fi
done

failed=()
run() {
    local name="$1"
    shift
    echo
    echo "==> $name"
    if "$@"; then
        echo "==> $name: ok"
    else
        echo "==> $name: FAILED" >&2
        failed+=("$name")
    fi
}

run "ruff check" "$PY" -m ruff check "${paths[@]}"
run "ruff format --check" "$PY" -m ruff format --check "${paths[@]}"
run "mypy" "$PY" -m mypy
run "pytest" "$PY" -m pytest -q "$@"

echo
if [ "${#failed[@]}" -gt 0 ]; then
    echo "FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "All checks passed."
