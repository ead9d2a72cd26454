#!/usr/bin/env bash
# Installs dependencies (idempotent) and builds Sparrow into build/ (Release, warnings as errors).
# Extra arguments go to cmake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSPARROW_WERROR=ON "$@" >/dev/null
cmake --build build -j2
