#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a bounded time.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 60; SPARROW_FUZZ_BUILD_DIR overrides build-fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
build="${SPARROW_FUZZ_BUILD_DIR:-build-fuzz}"

CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSPARROW_FUZZ=ON >/dev/null
cmake --build "$build" -j2 --target onnx_import_fuzzer image_decode_fuzzer make_image_seeds

# Seed corpus: ONNX's own small test models.
corpus="$build/corpus/onnx"
mkdir -p "$corpus"
testdata="${SPARROW_ONNX_TESTDATA:-/usr/share/libonnx-testdata/data}"
for model in "$testdata"/node/test_{conv,maxpool,resize,concat,split,slice,reshape,transpose,add,mul,sigmoid}*/model.onnx; do
  [[ -f "$model" ]] && cp "$model" "$corpus/$(basename "$(dirname "$model")").onnx"
done

echo "fuzz: onnx_import_fuzzer for ${seconds}s"
ASAN_OPTIONS=detect_leaks=1 "$build/tests/fuzz/onnx_import_fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 \
  -timeout=20 -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/" "$corpus" 2>&1 | tail -n 15

# Seed corpus: a small image of every accepted kind, made with cv::imencode.
image_corpus="$build/corpus/images"
mkdir -p "$image_corpus"
"$build/tests/fuzz/make_image_seeds" "$image_corpus"

# close_fd_mask=2 silences the per-input complaints libpng and OpenCV print for corrupt data;
# libFuzzer and sanitizer reports still get through.
echo "fuzz: image_decode_fuzzer for ${seconds}s"
ASAN_OPTIONS=detect_leaks=1 "$build/tests/fuzz/image_decode_fuzzer" -max_total_time="$seconds" -rss_limit_mb=2048 \
  -timeout=10 -max_len=16384 -dict=tests/fuzz/image.dict -close_fd_mask=2 -print_final_stats=1 \
  -artifact_prefix="$build/" "$image_corpus" 2>&1 | tail -n 15
