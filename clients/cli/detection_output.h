// Detections as `sparrow detect` prints them (text or JSON), and annotated copies of the images.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "sparrow/v1/detection.pb.h"

namespace sparrow::client {

// "PATH (WxH): N detection(s)" and one line per detection, on stdout.
void print_text(const std::string& path, const v1::ImageResult& result);

// {image, width, height, detections: [{box: [x1, y1, x2, y2], score, class_id, class_name}],
//  timings: {preprocess_ms, queue_ms, inference_ms, postprocess_ms}}
nlohmann::json to_json(const std::string& path, const v1::ImageResult& result);

// Draws the detections on the image read from `path` and writes it to `out_dir` under its file
// name. The client decodes the image the way the server does (EXIF orientation applied), so the
// boxes land where the server found them.
void write_annotated(const std::string& path, const v1::ImageResult& result, const std::string& out_dir);

}  // namespace sparrow::client
