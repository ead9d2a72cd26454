#include "model_options.h"

#include <CLI/CLI.hpp>

#include "sparrow/error.h"
#include "sparrow/yolo/default_files.h"

namespace sparrow::cli {

void ModelOptions::add_to(CLI::App& app, bool positional_model) {
  app.add_option(positional_model ? "model,-m,--model" : "-m,--model", model,
                 "ONNX model file (default: $SPARROW_MODEL or ../shared/models/yolov5n.onnx)");
  app.add_option("-b,--batch-size", batch_size, "Batch size to compile for (default: the model's, 1 if dynamic)")
      ->check(CLI::Range(int64_t{1}, int64_t{65536}));
  app.add_option("-c,--num-cores", num_cores, "Threads per run (default: all cores available to the process)")
      ->check(CLI::Range(1, 4096));
  app.add_option("--image-size", image_size, "Square input size for models with dynamic height and width (default 640)")
      ->check(CLI::Range(8, 16384));
  app.add_option("--input-shape", input_shapes, "Full input shape as NAME=1x3x640x640 (repeatable)");
}

Shape parse_shape(const std::string& text) {
  Shape shape;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = text.find('x', start);
    const std::string part = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (part.empty() || part.size() > 9 || part.find_first_not_of("0123456789") != std::string::npos) {
      throw Error(ErrorCode::kInvalidArgument, "shape '" + text + "' must look like 1x3x640x640");
    }
    shape.push_back(std::stoll(part));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return shape;
}

CompileOptions ModelOptions::compile_options() const {
  CompileOptions o;
  o.batch_size = batch_size;
  o.num_cores = num_cores;
  o.height = o.width = image_size;
  for (const std::string& spec : input_shapes) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw Error(ErrorCode::kInvalidArgument, "--input-shape '" + spec + "' must look like NAME=1x3x640x640");
    }
    o.input_shapes[spec.substr(0, eq)] = parse_shape(spec.substr(eq + 1));
  }
  return o;
}

std::string ModelOptions::resolved_model() const { return model.empty() ? yolo::default_model_path() : model; }

}  // namespace sparrow::cli
