#!/usr/bin/env bash
# Runs every test: unit, conformance (ONNX backend suite), integration, CLI, and a bounded fuzz
# run of each libFuzzer target, and the container smoke test (builds docker/Dockerfile and runs it).
# Usage: scripts/test.sh [FUZZ_SECONDS]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
(cd build && ctest --output-on-failure -j2 --timeout 600)
scripts/fuzz.sh "${1:-60}"
tests/container/smoke.sh
