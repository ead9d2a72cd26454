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

}  // namespace

LetterboxTransform letterbox_bytes(const cv::Mat& bgr, int height, int width, uint8_t* dst) {
  if (bgr.empty() || bgr.type() != CV_8UC3) {
    throw Error(ErrorCode::kInvalidArgument, "letterbox needs a non-empty 8-bit 3-channel image");
  }
  const double r = std::min(static_cast<double>(height) / bgr.rows, static_cast<double>(width) / bgr.cols);
  const int new_w = std::max(1, round_half_even(bgr.cols * r));
  const int new_h = std::max(1, round_half_even(bgr.rows * r));
  const double dw = (width - new_w) / 2.0, dh = (height - new_h) / 2.0;
  // ultralytics rounds dh - 0.1 and dh + 0.1 for the two sides; the far side is what remains.
  const int top = round_half_even(dh - 0.1), left = round_half_even(dw - 0.1);

  cv::Mat resized = bgr;
  if (new_w != bgr.cols || new_h != bgr.rows) cv::resize(bgr, resized, cv::Size(new_w, new_h), 0, 0, cv::INTER_LINEAR);
  cv::Mat padded;
  cv::copyMakeBorder(resized, padded, top, height - new_h - top, left, width - new_w - left, cv::BORDER_CONSTANT,
                     cv::Scalar(114, 114, 114));
  // Split straight into the output planes, R first.
  const size_t plane = static_cast<size_t>(height) * width;
  std::vector<cv::Mat> planes = {cv::Mat(height, width, CV_8U, dst + 2 * plane), cv::Mat(height, width, CV_8U, dst + plane),
                                 cv::Mat(height, width, CV_8U, dst)};
  cv::split(padded, planes);

  LetterboxTransform t;
  t.scale = static_cast<float>(r);
  t.pad_x = static_cast<float>(left);
  t.pad_y = static_cast<float>(top);
  t.source_width = bgr.cols;
  t.source_height = bgr.rows;
  return t;
}

void unit_floats(const uint8_t* src, size_t n, float* dst) {
  constexpr float kScale = static_cast<float>(1.0 / 255.0);
  for (size_t i = 0; i < n; ++i) dst[i] = static_cast<float>(src[i]) * kScale;
}

LetterboxTransform letterbox(const cv::Mat& bgr, int height, int width, float* dst) {
  const size_t n = static_cast<size_t>(3) * height * width;
  std::vector<uint8_t> bytes(n);
  const LetterboxTransform t = letterbox_bytes(bgr, height, width, bytes.data());
  unit_floats(bytes.data(), n, dst);
  return t;
}

}  // namespace sparrow::yolo
