// Post-processing and image options shared by `detect` and `eval`.
#pragma once

#include <string>

#include "sparrow/yolo/detection.h"
#include "sparrow/yolo/image_decoder.h"

namespace CLI {
class App;
}

namespace sparrow::cli {

struct YoloOptions {
  yolo::NmsOptions nms;
  int64_t max_pixels = yolo::DecodeOptions{}.max_pixels;

  // Defaults differ: detect follows ultralytics' detect.py, eval its val.py.
  void add_to(CLI::App& app, const yolo::NmsOptions& defaults);
  yolo::DecodeOptions decode() const { return {max_pixels}; }
};

}  // namespace sparrow::cli
