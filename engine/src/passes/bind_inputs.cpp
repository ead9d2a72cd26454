#include <algorithm>
#include <cstdio>

#include "passes/passes.h"
#include "sparrow/error.h"

namespace sparrow::passes {
namespace {

[[noreturn]] void bad(const std::string& why) { throw Error(ErrorCode::kInvalidArgument, why); }

constexpr int64_t kMaxBatch = 65536;
// ultralytics' default image size (its predict, val and export use 640 unless told otherwise).
constexpr int64_t kDefaultImageSize = 640;

// Applies batch/height/width to the first input: dims 0, 2 and 3 of an NCHW tensor.
void apply_nchw_overrides(Shape& shape, const CompileOptions& o, const std::string& name) {
  const int64_t overrides[] = {o.batch_size, -1, o.height, o.width};
  const char* names[] = {"batch size", "", "height", "width"};
  for (size_t d = 0; d < 4; ++d) {
    if (d == 1 || overrides[d] == 0) continue;
    if (overrides[d] < 0) bad(std::string(names[d]) + " must be positive, got " + std::to_string(overrides[d]));
    if (d >= shape.size()) {
      bad(std::string(names[d]) + " given, but input '" + name + "' has rank " + std::to_string(shape.size()));
    }
    shape[d] = overrides[d];
  }
}

// A dynamic height or width of an NCHW image input left unset gets ultralytics' default, and the log
// says so: a dynamic export then runs as ultralytics runs it.
void default_image_size(Shape& shape, const std::string& name) {
  if (shape.size() != 4 || (shape[2] >= 0 && shape[3] >= 0)) return;
  for (size_t d : {2, 3}) {
    if (shape[d] < 0) shape[d] = kDefaultImageSize;
  }
  std::fprintf(stderr,
               "sparrow: input '%s' has a dynamic height or width; compiling for %lldx%lld, ultralytics' default "
               "(--image-size sets another)\n",
               name.c_str(), static_cast<long long>(shape[2]), static_cast<long long>(shape[3]));
}

}  // namespace

BatchRewrite bind_inputs(graph::Graph& g, const CompileOptions& options) {
  if (options.batch_size < 0 || options.batch_size > kMaxBatch) {
    bad("batch size " + std::to_string(options.batch_size) + " is out of range (1 to " + std::to_string(kMaxBatch) + ")");
  }
  for (const auto& [name, tensor] : options.frozen_inputs) {
    int v = g.find_value(name);
    if (v < 0 || std::find(g.inputs.begin(), g.inputs.end(), v) == g.inputs.end()) {
      bad("frozen input '" + name + "' is not an input of the model");
    }
  }
  for (const auto& [name, shape] : options.input_shapes) {
    int v = g.find_value(name);
    if (v < 0 || std::find(g.inputs.begin(), g.inputs.end(), v) == g.inputs.end()) {
      bad("input shape given for '" + name + "', which is not an input of the model");
    }
  }

  BatchRewrite batch;
  std::vector<int> runtime_inputs;
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    graph::Value& v = g.values[g.inputs[i]];
    auto frozen = options.frozen_inputs.find(v.name);
    if (frozen != options.frozen_inputs.end()) {
      v.constant = frozen->second;
      v.dtype = frozen->second.dtype();
      v.shape = frozen->second.shape();
      v.typed = true;
      continue;
    }
    if (!v.typed) bad("input '" + v.name + "' declares no shape; pass its shape explicitly");
    Shape declared = v.shape;
    auto given = options.input_shapes.find(v.name);
    if (given != options.input_shapes.end()) {
      if (given->second.size() != v.shape.size()) {
        bad("input '" + v.name + "' has rank " + std::to_string(v.shape.size()) + ", the given shape " +
            shape_string(given->second) + " does not");
      }
      v.shape = given->second;
    } else if (runtime_inputs.empty()) {
      if (!v.shape.empty() && v.shape[0] < 0 && options.batch_size == 0) v.shape[0] = 1;
      apply_nchw_overrides(v.shape, options, v.name);
      default_image_size(v.shape, v.name);
    }
    for (size_t d = 0; d < v.shape.size(); ++d) {
      // An explicit shape may hold empty (0) dims; anything else unresolved is an error.
      const bool explicit_empty = v.shape[d] == 0 && given != options.input_shapes.end();
      if (v.shape[d] < 0 || (v.shape[d] == 0 && !explicit_empty)) {
        bad("input '" + v.name + "' dim " + std::to_string(d) + " is dynamic or zero (shape " +
            shape_string(v.shape) + "); give it a size" + (d >= 2 ? " (e.g. --image-size)" : ""));
      }
    }
    if (runtime_inputs.empty() && !v.shape.empty()) {
      batch.from = declared[0] > 0 ? declared[0] : 1;
      batch.to = v.shape[0];
    }
    runtime_inputs.push_back(g.inputs[i]);
  }
  g.inputs = runtime_inputs;
  return batch;
}

}  // namespace sparrow::passes
