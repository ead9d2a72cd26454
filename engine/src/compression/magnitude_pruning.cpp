#include "compression/magnitude_pruning.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace sparrow::compression {
namespace {

// The groups of a weight tensor: group g covers input channels [i0, i0 + len) at output
// channel o and kernel position k; element (o, i, k) lives at (o * I + i) * K + k.
struct Groups {
  int64_t outputs, inputs, positions, block, per_row;
  int64_t count() const { return outputs * per_row * positions; }
  // g = (o * per_row + b) * K + k
  int64_t first(int64_t g) const {
    const int64_t k = g % positions, row = g / positions, o = row / per_row, b = row % per_row;
    return (o * inputs + b * block) * positions + k;
  }
  int64_t length(int64_t g) const {
    const int64_t b = (g / positions) % per_row;
    return std::min(block, inputs - b * block);
  }
};

Groups groups_of(const std::vector<int64_t>& shape, int block) {
  int64_t positions = 1;
  for (size_t d = 2; d < shape.size(); ++d) positions *= shape[d];
  const int64_t inputs = shape.size() > 1 ? shape[1] : 1;
  return {shape[0], inputs, positions, block, (inputs + block - 1) / block};
}

}  // namespace

void prune_by_magnitude(float* weights, const std::vector<int64_t>& shape, double sparsity, int block) {
  const Groups groups = groups_of(shape, block);
  std::vector<double> norm(static_cast<size_t>(groups.count()));
  for (int64_t g = 0; g < groups.count(); ++g) {
    double sum = 0;
    for (int64_t j = 0, at = groups.first(g); j < groups.length(g); ++j, at += groups.positions) {
      sum += static_cast<double>(weights[at]) * weights[at];
    }
    norm[static_cast<size_t>(g)] = sum;  // squared: ranks the same as the norm
  }
  std::vector<int64_t> order(norm.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    const double na = norm[static_cast<size_t>(a)], nb = norm[static_cast<size_t>(b)];
    return na < nb || (na == nb && a < b);
  });
  const int64_t size = groups.outputs * groups.inputs * groups.positions;
  const auto target = static_cast<int64_t>(std::llround(sparsity * static_cast<double>(size)));
  int64_t zeroed = 0;
  for (size_t r = 0; r < order.size() && zeroed < target; ++r) {
    const int64_t g = order[r];
    for (int64_t j = 0, at = groups.first(g); j < groups.length(g); ++j, at += groups.positions) weights[at] = 0.0f;
    zeroed += groups.length(g);
  }
}

}  // namespace sparrow::compression
