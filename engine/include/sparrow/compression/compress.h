// sparrow compress: prune, quantize to INT8, or both (pruned first, so that quantization
// calibrates the pruned model), and write one standard ONNX file that records what was done in
// its metadata (key "sparrow.compression"). docs/compression.md has the recipe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "sparrow/compression/prune.h"
#include "sparrow/compression/quantize.h"

namespace sparrow::compression {

struct CompressOptions {
  std::optional<PruneOptions> prune;
  std::optional<QuantizeOptions> int8;
};

struct CompressReport {
  std::optional<PruneReport> prune;
  std::optional<QuantizeReport> int8;
  int opset = 0;                             // of the file written
  size_t input_bytes = 0, output_bytes = 0;  // file sizes
};

// Compresses `model_path` (a float ONNX model) into `output_path`. Throws sparrow::Error naming
// what failed: nothing asked, an unreadable or quantized model, a sparsity outside [0, 1), a
// block other than 1 or 4, a model without a convolution to prune, an unknown node to exclude,
// no calibration images for --int8 or --method obs, an image that cannot be decoded.
CompressReport compress(const std::string& model_path, const std::string& output_path, const CompressOptions& options);

}  // namespace sparrow::compression
