// The public side of pruning: method names and report totals.
#include "sparrow/compression/prune.h"

#include "sparrow/error.h"

namespace sparrow::compression {

PruneMethod parse_prune_method(const std::string& name) {
  if (name == "magnitude") return PruneMethod::kMagnitude;
  if (name == "obs") return PruneMethod::kObs;
  if (name == "lowrank") return PruneMethod::kLowRank;
  throw Error(ErrorCode::kInvalidArgument, "unknown pruning method '" + name + "' (magnitude, obs or lowrank)");
}

SparsityAllocation parse_sparsity_allocation(const std::string& name) {
  if (name == "uniform") return SparsityAllocation::kUniform;
  if (name == "sensitivity") return SparsityAllocation::kSensitivity;
  throw Error(ErrorCode::kInvalidArgument, "unknown sparsity allocation '" + name + "' (uniform or sensitivity)");
}

const char* sparsity_allocation_name(SparsityAllocation allocation) {
  return allocation == SparsityAllocation::kSensitivity ? "sensitivity" : "uniform";
}

const char* prune_method_name(PruneMethod method) {
  switch (method) {
    case PruneMethod::kMagnitude: return "magnitude";
    case PruneMethod::kObs: return "obs";
    case PruneMethod::kLowRank: return "lowrank";
  }
  return "?";
}

int PruneReport::pruned_convs() const {
  int n = 0;
  for (const LayerSparsity& layer : layers) n += layer.pruned;
  return n;
}

double PruneReport::achieved_sparsity() const {
  int64_t weights = 0, zeros = 0;
  for (const LayerSparsity& layer : layers) {
    if (!layer.pruned) continue;
    weights += layer.weights;
    zeros += layer.zeros;
  }
  return weights ? static_cast<double>(zeros) / static_cast<double>(weights) : 0.0;
}

double PruneReport::conv_sparsity() const {
  int64_t weights = 0, zeros = 0;
  for (const LayerSparsity& layer : layers) {
    weights += layer.weights;
    zeros += layer.zeros;
  }
  return weights ? static_cast<double>(zeros) / static_cast<double>(weights) : 0.0;
}

}  // namespace sparrow::compression
