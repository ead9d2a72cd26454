#!/usr/bin/env bash
# Runs every test: the build, ctest (unit, conformance, integration, CLI, server), a bounded fuzz
# run of each libFuzzer target, and the container smoke test (builds docker/Dockerfile and runs it).
# Every stage runs even when an earlier one failed, so one failure does not hide the others; a
# stage that needs the build is skipped, and says so, when the build failed. Ends with each
# stage's result and wall time, and exits non-zero if any stage failed.
# Usage: scripts/test.sh [FUZZ_SECONDS]   (default 60)
set -uo pipefail
cd "$(dirname "$0")/.."
fuzz_seconds="${1:-60}"

names=()
results=()
times=()

# stage NAME CMD...: runs CMD and records whether it passed and how long it took.
stage() {
  local name="$1" start=$SECONDS status=0
  shift
  printf '\n== test.sh: %s\n' "$name"
  "$@" || status=$?
  names+=("$name")
  times+=($((SECONDS - start)))
  if ((status == 0)); then results+=("PASS"); else results+=("FAIL (exit $status)"); fi
}

# skip NAME REASON: records a stage that could not run.
skip() {
  names+=("$1")
  times+=("")
  results+=("SKIPPED: $2")
}

run_ctest() { (cd build && ctest --output-on-failure -j2 --timeout 600); }

minutes() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

stage build scripts/build.sh
built="${results[0]}"
if [[ "$built" == PASS ]]; then
  stage ctest run_ctest
else
  skip ctest "the build failed"
fi
stage fuzz scripts/fuzz.sh "$fuzz_seconds"  # its own clang build in build-fuzz/
if [[ "$built" == PASS ]]; then
  stage container tests/container/smoke.sh
else
  skip container "the build failed (it drives the image with build/clients/cli/sparrow-client)"
fi

printf '\n== test.sh: summary (%s in all)\n' "$(minutes "$SECONDS")"
failed=0
for i in "${!names[@]}"; do
  time="${times[i]:+$(minutes "${times[i]}")}"
  printf '%-10s %-8s %s\n' "${names[i]}" "${time:--}" "${results[i]}"
  [[ "${results[i]}" == FAIL* ]] && failed=$((failed + 1))
done
if ((failed)); then
  echo "$failed stage(s) failed"
  exit 1
fi
echo "no stage failed"
