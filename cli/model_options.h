// Options every command that compiles a model shares, and the default model lookup.
#pragma once

#include <string>
#include <vector>

#include "sparrow/engine.h"

namespace CLI {
class App;
}

namespace sparrow::cli {

struct ModelOptions {
  std::string model;  // empty: the default model
  int64_t batch_size = 0;
  int num_cores = 0;
  int image_size = 0;
  std::vector<std::string> input_shapes;  // "name=1x3x640x640"

  // `positional_model`: the model is the first positional argument (else only -m/--model).
  void add_to(CLI::App& app, bool positional_model = true);
  CompileOptions compile_options() const;
  // The model path: the given one, else $SPARROW_MODEL, else shared/models/yolov5n.onnx found
  // next to an ancestor of the working directory or of the executable.
  std::string resolved_model() const;
};

Shape parse_shape(const std::string& text);

}  // namespace sparrow::cli
