#include "compression/sparsity_allocation.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "sparrow/error.h"

namespace sparrow::compression {
namespace {

// The zeros are counted in these fractions of all the weights: fine enough that rounding each
// layer's count moves the total by far less than a layer's smallest step.
constexpr int64_t kUnits = 1 << 16;

int64_t zero_units(const LayerCost& layer, size_t level, int64_t total) {
  const double zeros = layer.sparsities[level] * static_cast<double>(layer.weights);
  return std::llround(zeros * kUnits / static_cast<double>(total));
}

void check(const std::vector<LayerCost>& layers) {
  for (const LayerCost& l : layers) {
    if (l.sparsities.empty() || l.sparsities.size() != l.errors.size() || l.weights <= 0) {
      throw Error(ErrorCode::kInternal, "sparsity allocation: a layer without candidates");
    }
  }
}

}  // namespace

std::vector<double> allocate_sparsity(const std::vector<LayerCost>& layers, double target) {
  check(layers);
  int64_t total = 0;
  for (const LayerCost& l : layers) total += l.weights;
  const int64_t needed = std::llround(target * kUnits);
  constexpr double kNone = std::numeric_limits<double>::infinity();
  // best[u]: least error of the layers so far with at least u units of zeros (u capped at needed).
  std::vector<double> best(static_cast<size_t>(needed + 1), kNone);
  best[0] = 0;
  std::vector<std::vector<int>> choice(layers.size(), std::vector<int>(static_cast<size_t>(needed + 1), -1));
  for (size_t i = 0; i < layers.size(); ++i) {
    std::vector<double> next(best.size(), kNone);
    for (int64_t u = 0; u <= needed; ++u) {
      if (best[static_cast<size_t>(u)] == kNone) continue;
      for (size_t level = 0; level < layers[i].sparsities.size(); ++level) {
        const int64_t v = std::min(needed, u + zero_units(layers[i], level, total));
        const double error = best[static_cast<size_t>(u)] + layers[i].errors[level];
        if (error < next[static_cast<size_t>(v)]) {
          next[static_cast<size_t>(v)] = error;
          choice[i][static_cast<size_t>(v)] = static_cast<int>(level * static_cast<size_t>(needed + 1) + static_cast<size_t>(u));
        }
      }
    }
    best.swap(next);
  }
  if (best[static_cast<size_t>(needed)] == kNone) {
    std::ostringstream text;
    text << "sparsity " << target << " cannot be reached with per-layer sparsities of at most the highest candidate";
    throw Error(ErrorCode::kInvalidArgument, text.str());
  }
  std::vector<double> sparsity(layers.size());
  int64_t u = needed;
  for (size_t i = layers.size(); i-- > 0;) {
    const int packed = choice[i][static_cast<size_t>(u)];
    const auto level = static_cast<size_t>(packed) / static_cast<size_t>(needed + 1);
    sparsity[i] = layers[i].sparsities[level];
    u = packed % (needed + 1);
  }
  return sparsity;
}

}  // namespace sparrow::compression
