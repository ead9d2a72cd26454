// Quantization parameters carried on IR values: a float value whose every element is
// (q - zero_point) * scale for an integer q of `dtype`, per tensor or per channel along `axis`.
// infer_and_fold sets them on DequantizeLinear outputs (weights it folds keep them), so later
// passes can take a quantized region's integers back exactly.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "sparrow/tensor.h"

namespace sparrow::graph {

class Graph;
struct Node;

struct QuantParams {
  DType dtype = DType::kUint8;  // the integers' type
  std::vector<float> scales;    // one, or one per channel
  std::vector<int32_t> zero_points;
  int64_t axis = -1;            // the channel axis; -1 per tensor

  bool per_tensor() const { return axis < 0; }
  bool symmetric() const;  // every zero point is 0
  float scale(int64_t channel) const { return scales[per_tensor() ? 0 : channel]; }
  int32_t zero_point(int64_t channel) const { return zero_points[per_tensor() ? 0 : channel]; }
};

// The parameters of a QuantizeLinear or DequantizeLinear node whose scale and zero point are
// constants; nullopt for other nodes or parameters computed at run time.
std::optional<QuantParams> qdq_params(const Graph& g, const Node& node);

}  // namespace sparrow::graph
