// Pruning: zeroes a fraction of each convolution's weights, written back as ordinary ONNX
// initializers with zeros, which Sparrow's sparse kernels skip and any runtime runs unchanged.
// docs/compression.md has the recipe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sparrow::compression {

// How the weights to zero are chosen. Magnitude is the baseline; the one-shot methods that
// update the kept weights from calibration data (issue 14) join it here.
enum class PruneMethod {
  kMagnitude,  // the smallest weights (blocks: the smallest L2 norms), per layer
};

// "magnitude"; sparrow::Error (kInvalidArgument) for anything else.
PruneMethod parse_prune_method(const std::string& name);
const char* prune_method_name(PruneMethod method);

struct PruneOptions {
  double sparsity = 0;  // fraction of each pruned convolution's weights to zero, in [0, 1)
  // 1: any weight on its own. 4: whole blocks of 4 consecutive input channels at one (output
  // channel, kernel position), the INT8 sparse kernels' block; a last, shorter block when the
  // input channels are not a multiple of 4.
  int block = 1;
  PruneMethod method = PruneMethod::kMagnitude;
  std::vector<std::string> exclude;  // names of convolutions to keep dense, beyond the defaults
};

// One convolution of the model, pruned or kept dense.
struct LayerSparsity {
  std::string node;
  std::string weight;             // its weight initializer
  std::vector<int64_t> shape;     // of the weights: O x I x kH x kW
  int64_t weights = 0, zeros = 0; // after pruning
  bool pruned = false;
  std::string kept_dense_because; // "first conv", "Detect head", "--exclude"... when not pruned
  double sparsity() const { return weights ? static_cast<double>(zeros) / static_cast<double>(weights) : 0.0; }
};

struct PruneReport {
  std::vector<LayerSparsity> layers;  // every Conv, in graph order
  int pruned_convs() const;
  // Zeros over the pruned convolutions' weights, and over every convolution's weights.
  double achieved_sparsity() const;
  double conv_sparsity() const;
};

}  // namespace sparrow::compression
