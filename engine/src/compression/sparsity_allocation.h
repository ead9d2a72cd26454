// Spreading a global sparsity target over layers: each layer takes the sparsity that costs the
// model least for the weights it removes, so large layers that tolerate pruning take more than
// small sensitive ones, while the pruned layers together keep the target.
#pragma once

#include <cstdint>
#include <vector>

namespace sparrow::compression {

// One layer's options: its weight count and, at each candidate sparsity (ascending, first 0),
// the estimated error that pruning it to that level adds to the model's output.
struct LayerCost {
  int64_t weights = 0;
  std::vector<double> sparsities;
  std::vector<double> errors;
};

// One sparsity per layer, chosen among its candidates, whose weight-weighted mean is at least
// `target` and whose summed error is least (a knapsack over the zeros, counted to 1/65536 of the total).
// sparrow::Error (kInvalidArgument) when even the highest candidates fall short of `target`.
std::vector<double> allocate_sparsity(const std::vector<LayerCost>& layers, double target);

}  // namespace sparrow::compression
