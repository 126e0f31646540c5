#!/usr/bin/env bash
# The main job: set up, then dress a sample person in a sample garment with the
# default CPU engine. Extra arguments are passed on to `tryon run`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

scripts/setup.sh

mkdir -p out
.venv/bin/tryon run \
    --person samples/people/p1_studio.jpg \
    --garment samples/garments/shirts_2_front.jpg \
    --out out/tryon.png \
    --save-steps out/steps \
    "$@"

echo
echo "Result:             $ROOT/out/tryon.png"
echo "Intermediate steps: $ROOT/out/steps/"
