// Whether a sparse conv's output may be written planar (FP32 NCHW, INT8 channel blocks of 4):
// only where every reader takes it so, since any other reader would need a reorder back to
// channels-last. The FP32 and INT8 sparse rows walk the graph alike; the rules say what differs.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace sparrow::kernels {

struct PlanarRules {
  const graph::Graph& g;
  std::vector<std::vector<int>> consumers;
  std::string conv_op;  // the op the sparse rows run: "Conv" or "QLinearConv"
  // Whether `node` (a conv_op) will likely run on a sparse row, reading its data input in place
  // when `in_place`.
  std::function<bool(const graph::Node& node, bool in_place)> sparse;
  // The input `node` (a conv_op) adds as its fused residual, or -1.
  std::function<int(const graph::Node& node)> residual;
  int64_t channel_block = 1;  // a Concat's other parts must be whole blocks of this many channels
};

// How far readers are followed: through a C3 block's chain of residual bottlenecks (9 in
// yolov5l's, 12 in yolov5x's) to its Concat and the conv after it.
constexpr int kMaxPlanarChain = 16;

// Whether every reader of `value` (but node `asking`, which does) would take it planar: sparse
// convs that read it in place, or add it as the residual of an output that goes planar;
// LookupTables whose output goes planar; channel Concats whose output goes planar and whose other
// parts come planar too (a Concat of mixed layouts falls to a slow copy). A dense conv, a pool, a
// Resize, the Detect head or a graph output would need channels-last.
bool planar_readers(const PlanarRules& r, int value, int depth = kMaxPlanarChain, int asking = -1);

}  // namespace sparrow::kernels
