#!/usr/bin/env bash
# Set up the development environment: a virtual environment in .venv with the
# package installed in editable mode, plus its extras (service, diffusion, scale,
# eval, train, test).
#
# Safe to run again: when .venv exists and the install stamp is newer than
# pyproject.toml, nothing is installed and this returns in well under a second.
# Other scripts call it first, so you rarely need to run it by hand.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv"
STAMP="$VENV/.tryon-setup-stamp"

is_py311() {
    "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' 2>/dev/null
}

find_python() {
    local candidate
    for candidate in "${PYTHON:-}" python3.11 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null 2>&1 && is_py311 "$candidate"; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

# A .venv whose interpreter is missing or is not 3.11 is rebuilt from scratch.
if [ -d "$VENV" ] && ! { [ -x "$VENV/bin/python" ] && is_py311 "$VENV/bin/python"; }; then
    echo "setup: $VENV is unusable (no Python 3.11 interpreter); recreating it" >&2
    rm -rf "$VENV"
fi

if [ ! -d "$VENV" ]; then
    if ! PY="$(find_python)"; then
        echo "setup: Python 3.11 is required (tried \$PYTHON, python3.11, python3)" >&2
        exit 1
    fi
    echo "setup: creating .venv with $PY ($("$PY" --version 2>&1))"
    "$PY" -m venv "$VENV"
fi

if [ -f "$STAMP" ] && [ "$STAMP" -nt "$ROOT/pyproject.toml" ]; then
    exit 0
fi

echo "setup: installing tryon with its service, diffusion, scale, eval, train and test extras into .venv (first run takes a few minutes)"
"$VENV/bin/python" -m pip install --upgrade pip
"$VENV/bin/python" -m pip install -e ".[service,diffusion,scale,test,eval,train]"
touch "$STAMP"
echo "setup: done"
