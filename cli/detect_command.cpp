// sparrow detect: detections per image as text or JSON, and annotated images.
#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "commands.h"
#include "model_options.h"
#include "sparrow/error.h"
#include "sparrow/output_file.h"
#include "sparrow/yolo/annotate.h"
#include "sparrow/yolo/detector.h"
#include "sparrow/yolo/image_files.h"
#include "yolo_options.h"

namespace sparrow::cli {
namespace fs = std::filesystem;
namespace {

struct DetectArgs {
  ModelOptions model;
  YoloOptions yolo;
  std::vector<std::string> paths;
  std::string out_dir;
  bool json = false;
};

nlohmann::json to_json(const std::string& path, const yolo::ImageDetections& r, const std::vector<std::string>& names) {
  nlohmann::json j;
  j["image"] = path;
  j["width"] = r.width;
  j["height"] = r.height;
  j["detections"] = nlohmann::json::array();
  for (const yolo::Detection& d : r.detections) {
    j["detections"].push_back({{"box", {d.x1, d.y1, d.x2, d.y2}},
                               {"score", d.score},
                               {"class_id", d.class_id},
                               {"class_name", names.at(static_cast<size_t>(d.class_id))}});
  }
  return j;
}

void print_text(const std::string& path, const yolo::ImageDetections& r, const std::vector<std::string>& names) {
  std::printf("%s (%dx%d): %zu detection(s)\n", path.c_str(), r.width, r.height, r.detections.size());
  for (const yolo::Detection& d : r.detections) {
    std::printf("  %-14s %.3f  x1 %6.1f y1 %6.1f x2 %6.1f y2 %6.1f\n", names.at(static_cast<size_t>(d.class_id)).c_str(),
                d.score, d.x1, d.y1, d.x2, d.y2);
  }
}

int run(const DetectArgs& args) {
  std::vector<std::string> inputs = args.paths;
  std::string model = args.model.model;
  if (model.empty() && !inputs.empty() && fs::path(inputs[0]).extension() == ".onnx") {
    model = inputs.front();
    inputs.erase(inputs.begin());
  }
  ModelOptions model_options = args.model;
  model_options.model = model;
  yolo::DetectorOptions options;
  options.compile = model_options.compile_options();
  options.nms = args.yolo.nms;
  options.decode = args.yolo.decode();
  const yolo::Detector detector(model_options.resolved_model(), options);
  const std::vector<std::string> files = yolo::image_files(inputs);
  if (files.empty()) throw Error(ErrorCode::kInvalidArgument, "no images given (files or folders of images)");
  if (!args.out_dir.empty()) make_output_folder(args.out_dir);

  nlohmann::json all = nlohmann::json::array();
  yolo::Timings timings;
  int failures = 0;
  for (const std::string& file : files) {
    cv::Mat image;
    try {
      image = yolo::decode_image_file(file, options.decode);
    } catch (const Error& e) {
      std::fprintf(stderr, "sparrow: %s\n", e.what());  // the message starts with the file's path
      ++failures;
      continue;
    }
    const yolo::ImageDetections result = detector.detect({image}, &timings).at(0);
    if (args.json) {
      all.push_back(to_json(file, result, detector.class_names()));
    } else {
      print_text(file, result, detector.class_names());
    }
    if (!args.out_dir.empty()) {
      yolo::draw_detections(image, result.detections, detector.class_names());
      const fs::path out = fs::path(args.out_dir) / fs::path(file).filename();
      errno = 0;
      if (!cv::imwrite(out.string(), image)) throw write_failed(out.string());
    }
  }
  if (args.json) std::printf("%s\n", all.dump(2).c_str());
  const size_t n = files.size() - static_cast<size_t>(failures);
  if (n > 0) {
    std::fprintf(stderr, "%zu image(s): pre-process %.1f ms, inference %.1f ms, post-process %.1f ms per image\n", n,
                 timings.preprocess_ms / n, timings.inference_ms / n, timings.postprocess_ms / n);
  }
  return failures ? 1 : 0;
}

}  // namespace

void add_detect_command(CLI::App& app) {
  auto args = std::make_shared<DetectArgs>();
  CLI::App* cmd = app.add_subcommand("detect", "Detect objects: [MODEL.onnx] IMAGES_OR_FOLDERS...");
  args->model.add_to(*cmd, false);
  args->yolo.add_to(*cmd, yolo::NmsOptions{});
  cmd->add_option("paths", args->paths, "[model.onnx] then image files or folders")->required();
  cmd->add_option("-o,--out", args->out_dir, "Write annotated images to this folder");
  cmd->add_flag("--json", args->json, "Print detections as JSON instead of text");
  cmd->callback([args] {
    if (run(*args) != 0) throw Error(ErrorCode::kInvalidArgument, "some images could not be processed (see above)");
  });
}

}  // namespace sparrow::cli
