// What pruning each convolution costs the whole model, measured on calibration images, so that
// a global sparsity target can be spread over the layers (sparsity_allocation.h).
//
// For each layer, SparseGPT prunes it alone at each candidate sparsity on the dense model's
// inputs, which gives the layer's own relative output error e(s) from its Hessian alone. One
// run of the model with the layer pruned at the reference sparsity measures what that error
// does to the Detect head's outputs (head_error.h), E(s_ref): the layer's cost at s is
// E(s_ref) · e(s) / e(s_ref).
// The gain E / e is what differs most between layers (an early layer's error reaches every
// later one); e(s) gives the shape of each layer's curve without a model run per level.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "compression/sparsity_allocation.h"
#include "sparrow/tensor.h"

namespace sparrow::compression {

struct SensitivityOptions {
  double reference_sparsity = 0.5;  // where the model run measures each layer
  int block = 1;
  std::vector<double> candidates;   // ascending, first 0
  uint64_t seed = 0;                // of the pixels sampled in large layers
  int num_cores = 0;
  std::function<void()> layer_done;
};

// One LayerCost per conv node of `nodes` (indices into dense.graph()), in that order; `images`
// are the model's input `input_name` for each calibration image. Each cost's `errors` are in
// units of the head outputs' relative squared error.
std::vector<LayerCost> measure_sensitivity(const onnx::ModelProto& dense, const std::vector<int>& nodes,
                                           const std::vector<Tensor>& images, const std::string& input_name,
                                           const SensitivityOptions& options);

}  // namespace sparrow::compression
