#include "kernels/planar_readers.h"

#include <algorithm>

namespace sparrow::kernels {
namespace {

// Whether `value` would be made planar: by a sparse conv all of whose readers take it so, or by a
// LookupTable (which keeps its input's layout) of such a value.
bool made_planar(const PlanarRules& r, int value, int depth, int asking) {
  const int producer = r.g.values[static_cast<size_t>(value)].producer;
  if (depth == 0 || producer < 0) return false;
  const graph::Node& node = r.g.nodes[static_cast<size_t>(producer)];
  if (node.op == "LookupTable") {
    return planar_readers(r, value, depth - 1, asking) && made_planar(r, node.inputs[0], depth - 1, producer);
  }
  return node.op == r.conv_op && r.sparse(node, false) && planar_readers(r, value, depth - 1, asking);
}

bool concat_takes_planar(const PlanarRules& r, const graph::Node& node, int reader, int value, int depth) {
  const int64_t axis = node.attrs.get_int("axis", 0);
  if ((axis != 1 && axis != -3) || !planar_readers(r, node.outputs[0], depth - 1)) return false;
  for (int part : node.inputs) {
    if (part == value) continue;
    if (r.g.values[static_cast<size_t>(part)].shape[1] % r.channel_block != 0 || !made_planar(r, part, depth - 1, reader)) return false;
  }
  return true;
}

bool reader_takes_planar(const PlanarRules& r, int reader, int value, int depth) {
  const graph::Node& node = r.g.nodes[static_cast<size_t>(reader)];
  if (node.op == r.conv_op) {
    if (node.inputs[0] == value) return r.sparse(node, true);
    const int residual = r.residual(node);
    return residual >= 0 && node.inputs[static_cast<size_t>(residual)] == value && r.sparse(node, false) &&
           planar_readers(r, node.outputs[0], depth - 1);
  }
  if (node.op == "LookupTable") return planar_readers(r, node.outputs[0], depth - 1);
  if (node.op == "Concat" && r.g.values[static_cast<size_t>(node.outputs[0])].shape.size() == 4) {
    return concat_takes_planar(r, node, reader, value, depth);
  }
  return false;
}

}  // namespace

bool planar_readers(const PlanarRules& r, int value, int depth, int asking) {
  const auto& readers = r.consumers[static_cast<size_t>(value)];
  if (depth == 0 || readers.empty()) return false;
  if (std::find(r.g.outputs.begin(), r.g.outputs.end(), value) != r.g.outputs.end()) return false;
  return std::all_of(readers.begin(), readers.end(), [&](int c) { return c == asking || reader_takes_planar(r, c, value, depth); });
}

}  // namespace sparrow::kernels
