#include "detection_output.h"

#include <cstdio>
#include <filesystem>
#include <opencv2/imgcodecs.hpp>
#include <vector>

#include "sparrow/error.h"
#include "sparrow/yolo/annotate.h"
#include "sparrow/yolo/image_decoder.h"

namespace sparrow::client {
namespace fs = std::filesystem;

void print_text(const std::string& path, const v1::ImageResult& r) {
  std::printf("%s (%dx%d): %d detection(s)\n", path.c_str(), r.width(), r.height(), r.detections_size());
  for (const v1::DetectedObject& d : r.detections()) {
    std::printf("  %-14s %.3f  x1 %6.1f y1 %6.1f x2 %6.1f y2 %6.1f\n", d.class_name().c_str(), d.score(), d.box().x1(),
                d.box().y1(), d.box().x2(), d.box().y2());
  }
}

nlohmann::json to_json(const std::string& path, const v1::ImageResult& r) {
  nlohmann::json j;
  j["image"] = path;
  j["width"] = r.width();
  j["height"] = r.height();
  j["detections"] = nlohmann::json::array();
  for (const v1::DetectedObject& d : r.detections()) {
    j["detections"].push_back({{"box", {d.box().x1(), d.box().y1(), d.box().x2(), d.box().y2()}},
                               {"score", d.score()},
                               {"class_id", d.class_id()},
                               {"class_name", d.class_name()}});
  }
  j["timings"] = {{"preprocess_ms", r.timings().preprocess_ms()},
                  {"queue_ms", r.timings().queue_ms()},
                  {"inference_ms", r.timings().inference_ms()},
                  {"postprocess_ms", r.timings().postprocess_ms()}};
  return j;
}

void write_annotated(const std::string& path, const v1::ImageResult& r, const std::string& out_dir) {
  cv::Mat image = yolo::decode_image_file(path);
  std::vector<yolo::Detection> detections;
  // draw_detections looks labels up by class id; the response carries the names themselves.
  std::vector<std::string> names;
  for (const v1::DetectedObject& d : r.detections()) {
    if (d.class_id() < 0 || d.class_id() > 100000) {
      throw Error(ErrorCode::kInvalidArgument, "the server sent class id " + std::to_string(d.class_id()));
    }
    detections.push_back({d.box().x1(), d.box().y1(), d.box().x2(), d.box().y2(), d.score(), d.class_id()});
    if (names.size() <= static_cast<size_t>(d.class_id())) names.resize(static_cast<size_t>(d.class_id()) + 1);
    names[static_cast<size_t>(d.class_id())] = d.class_name();
  }
  yolo::draw_detections(image, detections, names);
  const fs::path out = fs::path(out_dir) / fs::path(path).filename();
  if (!cv::imwrite(out.string(), image)) throw Error(ErrorCode::kIo, "cannot write '" + out.string() + "'");
}

}  // namespace sparrow::client
