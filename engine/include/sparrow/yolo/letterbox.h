// Letterboxing as ultralytics does it: keep the aspect ratio, pad with grey 114 to the model's
// input size, convert BGR to RGB, scale to 0..1 and write NCHW floats.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cv {
class Mat;
}

namespace sparrow::yolo {

// How a letterboxed image maps back to the original: original = (input - pad) / scale.
struct LetterboxTransform {
  float scale = 1;
  float pad_x = 0, pad_y = 0;
  int source_width = 0, source_height = 0;
};

// `bgr` is an 8-bit 3-channel image; `dst` receives 3 x height x width floats.
LetterboxTransform letterbox(const cv::Mat& bgr, int height, int width, float* dst);
// The same letterbox as 3 x height x width bytes (0..255), a quarter of the memory; the floats
// letterbox() writes are exactly unit_floats() of these.
LetterboxTransform letterbox_bytes(const cv::Mat& bgr, int height, int width, uint8_t* dst);
// Bytes 0..255 to floats 0..1: the one scaling every input path uses, so they agree bit for bit.
void unit_floats(const uint8_t* src, size_t n, float* dst);

}  // namespace sparrow::yolo
