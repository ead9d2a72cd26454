// Pruning: zeroes a fraction of each convolution's weights, written back as ordinary ONNX
// initializers with zeros, which Sparrow's sparse kernels skip and any runtime runs unchanged.
// docs/compression.md has the recipe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace sparrow::compression {

// How the weights to zero are chosen.
enum class PruneMethod {
  kMagnitude,  // the smallest weights (blocks: the smallest L2 norms), per layer
  // One-shot OBS (SparseGPT): per layer, in graph order, on the inputs that calibration images
  // give the already pruned model, the weights of least saliency w² / [H⁻¹]_jj² are zeroed and
  // the kept ones updated to restore the layer's output; biases absorb the mean output shift.
  kObs,
  // Low-rank factorization of the 1x1 convs: each W (O x I) becomes two 1x1 convs A·B of rank
  // r = floor((1 − S)·O·I / (O + I)), so that S is the fraction of its weights (and MACs)
  // removed; fitted like kObs, layer by layer on calibration images, to the layer's output.
  kLowRank,
};

// How a --sparsity target is spread over the pruned convolutions.
enum class SparsityAllocation {
  kUniform,      // every pruned conv at the target
  // --method obs: each conv at the sparsity that costs the model least for what it removes, as
  // measured on calibration images (compression/layer_sensitivity.h); the pruned convs' weights
  // together reach the target.
  kSensitivity,
};

// "uniform" or "sensitivity"; sparrow::Error (kInvalidArgument) for anything else.
SparsityAllocation parse_sparsity_allocation(const std::string& name);
const char* sparsity_allocation_name(SparsityAllocation allocation);

// "magnitude", "obs" or "lowrank"; sparrow::Error (kInvalidArgument) for anything else.
PruneMethod parse_prune_method(const std::string& name);
const char* prune_method_name(PruneMethod method);

struct PruneOptions {
  // Fraction of each pruned convolution's weights to zero (lowrank: to remove by factoring), in [0, 1).
  double sparsity = 0;
  // 1: any weight on its own. 4: whole blocks of 4 consecutive input channels at one (output
  // channel, kernel position), the INT8 sparse kernels' block; a last, shorter block when the
  // input channels are not a multiple of 4.
  int block = 1;
  PruneMethod method = PruneMethod::kMagnitude;
  SparsityAllocation allocation = SparsityAllocation::kUniform;
  std::vector<std::string> exclude;  // names of convolutions to keep dense, beyond the defaults
  // --method obs and lowrank only: the calibration image files (letterboxed as detect does), how the
  // metadata names them, the seed that picks the pixels of layers sub-sampled, the threads of the
  // calibration runs (0: every core) and a callback after each layer (layers done, in all).
  std::vector<std::string> calibration_images;
  std::string calibration_source;
  uint64_t seed = 0;
  int num_cores = 0;
  std::function<void(size_t, size_t)> progress;
};

// One convolution of the model, pruned or kept dense.
struct LayerSparsity {
  std::string node;
  std::string weight;             // its weight initializer
  std::vector<int64_t> shape;     // of the weights: O x I x kH x kW
  // After pruning. --method lowrank: `zeros` counts the weights the factors do not have,
  // O·I − rank·(O + I), so sparsity() is the fraction removed.
  int64_t weights = 0, zeros = 0;
  int64_t rank = 0;               // --method lowrank: r of the two convs that replace it (0: not factored)
  bool pruned = false;
  std::string kept_dense_because; // "first conv", "Detect head", "--exclude"... when not pruned
  // --method obs: ||ΔW·X||² / ||W·X||² over the layer's calibration inputs, and what magnitude
  // pruning at the same sparsity and block would give on the same inputs; -1 when not measured.
  double output_error = -1, magnitude_output_error = -1;
  // --method obs: what chose the zeros, "OBC" (exact greedy, where the layer is small enough) or
  // "SparseGPT" (lazy batches).
  std::string pattern_by;
  // --allocation sensitivity: the Detect head's relative output error with this conv alone
  // pruned at the target sparsity (the measured sensitivity that set its share); -1 otherwise.
  double model_error = -1;
  // --method lowrank: the output error of the data-free truncated SVD of W at the same rank, on
  // the same inputs (output_error is then over the centred inputs, as the bias absorbs the mean).
  double weight_svd_output_error = -1;
  double sparsity() const { return weights ? static_cast<double>(zeros) / static_cast<double>(weights) : 0.0; }
};

struct PruneReport {
  std::vector<LayerSparsity> layers;  // every Conv, in graph order
  int pruned_convs() const;
  // Zeros over the pruned convolutions' weights, and over every convolution's weights.
  double achieved_sparsity() const;
  double conv_sparsity() const;
  // With PruneOptions::int8_weights: per weight initializer, the per-output-channel INT8 steps
  // GPTQ rounded it to (its values are those integers times these steps).
  std::map<std::string, std::vector<float>> int8_steps;
};

}  // namespace sparrow::compression
