// compress --method lowrank over a whole model: each 1x1 convolution chosen is replaced by two
// 1x1 convolutions, W ≈ A·B (B: r x I, then A: O x r with the bias), fitted one after another in
// graph order on the inputs that the calibration images give the model as factored so far.
#pragma once

#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "sparrow/compression/prune.h"

namespace sparrow::compression {

struct LowRankLayer {
  int node = 0;                     // the Conv's index in the graph
  LayerSparsity* report = nullptr;  // gets its rank, weights removed and output errors
};

// Why the Conv `node` with weights of shape `weight_shape` cannot be factored at `sparsity`
// ("not a 1x1 conv", "grouped", or a rank that would not remove weights); "" when it can.
std::string lowrank_ineligibility(const onnx::NodeProto& node, const std::vector<int64_t>& weight_shape, double sparsity);

// Factors each of `layers` (in graph order; each eligible) at the rank that removes a fraction
// options.sparsity of its weights, minimising its output error on the calibration inputs, and
// corrects its bias for the mean output shift. Then each reader of a factored weight becomes
// two Conv nodes (new unique names; the original weight initializer is removed). Node indices
// of `model` change. sparrow::Error: no calibration images (kInvalidArgument), an image that
// cannot be decoded, a conv the Hessian does not handle (kUnsupported: auto_pad).
void factor_by_lowrank(onnx::ModelProto& model, const std::vector<LowRankLayer>& layers, const PruneOptions& options);

}  // namespace sparrow::compression
