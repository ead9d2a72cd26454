// What describe() says of a layer beyond its kernel: the data type it computes on and the
// sparsity of its weights, element by element and in blocks.
#pragma once

#include <string>

#include "graph/graph.h"

namespace sparrow::runtime {

// The kernel row's dtype prefix ("f32" of "f32-conv-onednn"); for the reference kernel, the
// node's own: "qu8"/"qs8" for QLinear ops, else the first input's ("f32", "u8", "s64"...).
std::string layer_dtype(const graph::Graph& g, const graph::Node& node, const std::string& row);
// The fraction of the node's constant weights that are zero (equal to their zero point when
// quantized); 0 for nodes without constant weights.
double weight_sparsity(const graph::Graph& g, const graph::Node& node);
// Block structure: of a convolution's weights cut into blocks of kBlock consecutive input
// channels (at one output channel and tap; the last block of a row may be shorter), the
// fraction that are all zero. Sparse INT8 kernels skip exactly these. 0 for other nodes.
constexpr int64_t kBlock = 4;
double block_sparsity(const graph::Graph& g, const graph::Node& node);

}  // namespace sparrow::runtime
