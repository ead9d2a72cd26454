// Where the QDQ fusion passes look: the DequantizeLinear a value comes from, and the
// QuantizeLinear that alone reads a value, each with constant per-tensor parameters.
#pragma once

#include <vector>

#include "graph/graph.h"

namespace sparrow::passes {

// The DequantizeLinear node computing `value` from u8 integers on a per-tensor grid (the grid is
// the value's quant), or nullptr.
const graph::Node* u8_dequantize_of(const graph::Graph& g, int value);
// The QuantizeLinear node that is the only reader of `value` (which is no graph output), with
// constant per-tensor parameters, stored in `grid`; nullptr otherwise.
graph::Node* sole_quantize_of(graph::Graph& g, const std::vector<std::vector<int>>& consumers, int value,
                              graph::QuantParams* grid);

}  // namespace sparrow::passes
