#!/usr/bin/env bash
# Installs dependencies (idempotent) and builds Sparrow into build/ (Release, warnings as errors).
#   scripts/build.sh [CMAKE_ARGS...]                everything: binaries, tests, benchmarks
#   scripts/build.sh --target NAME [CMAKE_ARGS...]  one binary (sparrow-server, sparrow, sparrow-client)
#       and what it links, with only the packages the binaries need (scripts/setup.sh server)
# Other arguments go to cmake's configure step. Both configure the same build/ with the same flags,
# so switching between them recompiles nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
profile=all
tests=ON
build_args=()
if [[ "${1:-}" == --target ]]; then
  profile=server
  tests=OFF
  build_args=(--target "${2:?--target needs a target name}")
  shift 2
fi
scripts/setup.sh "$profile"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSPARROW_WERROR=ON -DSPARROW_BUILD_TESTS="$tests" "$@" >/dev/null
cmake --build build -j2 "${build_args[@]}"
