#include "sparrow/yolo/letterbox.h"

#include <cmath>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "sparrow/error.h"

namespace sparrow::yolo {
namespace {

// Python's round(): halves go to the even neighbour. Matching it keeps pixel-exact parity with
// the ultralytics pipeline.
int round_half_even(double v) { return static_cast<int>(std::nearbyint(v)); }

// The letterboxed BGR image (8-bit, interleaved), in buffers kept per thread: a server
// letterboxes image after image, and fresh multi-megabyte buffers each time cost page faults
// and unmapping that dominate the work itself.
const cv::Mat& letterboxed(const cv::Mat& bgr, int height, int width, LetterboxTransform& t) {
  if (bgr.empty() || bgr.type() != CV_8UC3) {
    throw Error(ErrorCode::kInvalidArgument, "letterbox needs a non-empty 8-bit 3-channel image");
  }
  const double r = std::min(static_cast<double>(height) / bgr.rows, static_cast<double>(width) / bgr.cols);
  const int new_w = std::max(1, round_half_even(bgr.cols * r));
  const int new_h = std::max(1, round_half_even(bgr.rows * r));
  const double dw = (width - new_w) / 2.0, dh = (height - new_h) / 2.0;
  // ultralytics rounds dh - 0.1 and dh + 0.1 for the two sides; the far side is what remains.
  const int top = round_half_even(dh - 0.1), left = round_half_even(dw - 0.1);

  thread_local cv::Mat resized, padded;
  const cv::Mat* source = &bgr;
  if (new_w != bgr.cols || new_h != bgr.rows) {
    cv::resize(bgr, resized, cv::Size(new_w, new_h), 0, 0, cv::INTER_LINEAR);
    source = &resized;
  }
  cv::copyMakeBorder(*source, padded, top, height - new_h - top, left, width - new_w - left, cv::BORDER_CONSTANT,
                     cv::Scalar(114, 114, 114));
  t.scale = static_cast<float>(r);
  t.pad_x = static_cast<float>(left);
  t.pad_y = static_cast<float>(top);
  t.source_width = bgr.cols;
  t.source_height = bgr.rows;
  return padded;
}

constexpr float kUnitScale = static_cast<float>(1.0 / 255.0);

}  // namespace

LetterboxTransform letterbox_bytes(const cv::Mat& bgr, int height, int width, uint8_t* dst) {
  LetterboxTransform t;
  const cv::Mat& padded = letterboxed(bgr, height, width, t);
  // Split straight into the output planes, R first.
  const size_t plane = static_cast<size_t>(height) * width;
  std::vector<cv::Mat> planes = {cv::Mat(height, width, CV_8U, dst + 2 * plane), cv::Mat(height, width, CV_8U, dst + plane),
                                 cv::Mat(height, width, CV_8U, dst)};
  cv::split(padded, planes);
  return t;
}

void unit_floats(const uint8_t* src, size_t n, float* dst) {
  for (size_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i]) * kUnitScale;
}

LetterboxTransform letterbox(const cv::Mat& bgr, int height, int width, float* dst) {
  LetterboxTransform t;
  const cv::Mat& padded = letterboxed(bgr, height, width, t);
  // Interleaved BGR bytes to R, G, B float planes, scaled exactly as unit_floats() scales.
  const size_t plane = static_cast<size_t>(height) * width;
  float* r = dst;
  float* g = dst + plane;
  float* b = dst + 2 * plane;
  for (int y = 0; y < height; ++y) {
    const uint8_t* p = padded.ptr<uint8_t>(y);
    const size_t row = static_cast<size_t>(y) * width;
    for (int x = 0; x < width; ++x) {
      b[row + x] = static_cast<float>(p[3 * x]) * kUnitScale;
      g[row + x] = static_cast<float>(p[3 * x + 1]) * kUnitScale;
      r[row + x] = static_cast<float>(p[3 * x + 2]) * kUnitScale;
    }
  }
  return t;
}

}  // namespace sparrow::yolo
