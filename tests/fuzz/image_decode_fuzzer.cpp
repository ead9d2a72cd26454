// libFuzzer target: arbitrary bytes as an uploaded image, through decode_image and letterbox as the
// server runs them. Any outcome but a letterboxed image or a sparrow::Error (a crash, a sanitizer
// report, another exception, a hang) is a bug, and so is kInternal, which only a bug raises.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <opencv2/core.hpp>

#include "sparrow/error.h"
#include "sparrow/yolo/image_decoder.h"
#include "sparrow/yolo/letterbox.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cv::setNumThreads(1);  // one core for the fuzzer; the decoders are single-threaded anyway
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sparrow::yolo::DecodeOptions options;
  options.max_pixels = 4 * 1000 * 1000;  // keeps each run fast; larger headers must be refused cleanly
  static std::vector<float> input(3 * 64 * 64);
  try {
    const cv::Mat image = sparrow::yolo::decode_image(data, size, options);
    sparrow::yolo::letterbox(image, 64, 64, input.data());
  } catch (const sparrow::Error& e) {
    if (e.code() == sparrow::ErrorCode::kInternal) {
      std::fprintf(stderr, "internal error: %s\n", e.what());
      std::abort();
    }
  }
  return 0;
}
