#include "yolo_options.h"

#include <CLI/CLI.hpp>

namespace sparrow::cli {

void YoloOptions::add_to(CLI::App& app, const yolo::NmsOptions& defaults) {
  nms = defaults;
  app.add_option("--conf", nms.conf_threshold, "Confidence threshold (objectness x class score)")
      ->check(CLI::Range(0.0f, 1.0f))
      ->capture_default_str();
  app.add_option("--iou", nms.iou_threshold, "NMS IoU threshold")->check(CLI::Range(0.0f, 1.0f))->capture_default_str();
  app.add_option("--max-det", nms.max_det, "Maximum detections per image")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--classes", nms.classes, "Keep only these class ids")->check(CLI::Range(0, 1000000));
  app.add_flag("--agnostic", nms.agnostic, "Class-agnostic NMS");
  app.add_option("--max-pixels", max_pixels, "Reject images with more pixels than this")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40))
      ->capture_default_str();
}

}  // namespace sparrow::cli
