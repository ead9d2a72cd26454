#include <optional>

#include "ops/broadcast.h"
#include "ops/op_registry.h"
#include "ops/segmented_elementwise.h"
#include "passes/passes.h"

namespace sparrow::passes {
namespace {

// One Split output's way to the Concat: the step nodes, and the value the Concat reads.
struct Chain {
  std::vector<int> steps;
  int end = -1;
  int concat = -1;
};

std::optional<ops::SegmentStepOp> step_op(const std::string& op) {
  if (op == "Add") return ops::SegmentStepOp::kAdd;
  if (op == "Sub") return ops::SegmentStepOp::kSub;
  if (op == "Mul") return ops::SegmentStepOp::kMul;
  if (op == "Div") return ops::SegmentStepOp::kDiv;
  if (op == "Pow") return ops::SegmentStepOp::kPow;
  return std::nullopt;
}

// The input index of a step's float constant operand when its other input is x; -1 otherwise.
int constant_input(const graph::Graph& g, const graph::Node& n, int x) {
  if (n.inputs.size() != 2) return -1;
  for (int side = 0; side < 2; ++side) {
    const graph::Value& c = g.values[n.inputs[side]];
    if (n.inputs[1 - side] == x && c.constant && c.dtype == DType::kFloat32) return side;
  }
  return -1;
}

std::optional<Chain> follow(const graph::Graph& g, const std::vector<std::vector<int>>& consumers, int v) {
  Chain chain;
  const Shape shape = g.values[v].shape;
  for (;;) {
    if (g.is_output(v) || consumers[v].size() != 1) return std::nullopt;
    const int next = consumers[v][0];
    const graph::Node& n = g.nodes[next];
    if (!step_op(n.op)) {
      chain.end = v;
      chain.concat = next;
      return chain;
    }
    const graph::Value& out = g.values[n.outputs[0]];
    if (constant_input(g, n, v) < 0 || out.shape != shape || out.dtype != DType::kFloat32) return std::nullopt;
    chain.steps.push_back(next);
    v = n.outputs[0];
  }
}

bool last_axis(const graph::Node& n, int64_t rank) {
  return rank > 0 && ops::normalize_axis(n.attrs.get_int("axis", 0), rank) == rank - 1;
}

// The chains of every Split output, if they all end at one Concat along the same axis that reads
// exactly their ends, in order.
std::optional<std::vector<Chain>> chains_to_concat(const graph::Graph& g, const std::vector<std::vector<int>>& consumers,
                                                   const graph::Node& split) {
  std::vector<Chain> chains;
  for (int out : split.outputs) {
    if (out == graph::kNoValue) return std::nullopt;
    std::optional<Chain> c = follow(g, consumers, out);
    if (!c || (!chains.empty() && c->concat != chains[0].concat)) return std::nullopt;
    chains.push_back(*c);
  }
  const graph::Node& concat = g.nodes[chains[0].concat];
  const int64_t rank = static_cast<int64_t>(g.values[split.inputs[0]].shape.size());
  if (concat.op != "Concat" || !last_axis(concat, rank) || concat.inputs.size() != chains.size()) return std::nullopt;
  for (size_t i = 0; i < chains.size(); ++i) {
    if (concat.inputs[i] != chains[i].end) return std::nullopt;
  }
  return chains;
}

// Whether constant c, right-aligned to a segment of shape s, varies only along trailing dims
// equal to s's: then element (row r, column j) is c[(r * w + j) % size(c)].
bool tiles(const Shape& c, const Shape& s) {
  if (num_elements(c) == 1) return true;
  if (c.size() > s.size()) return false;
  size_t k = 0;
  while (k < c.size() && c[k] == 1) ++k;
  const size_t offset = s.size() - c.size();
  for (size_t i = k; i < c.size(); ++i) {
    if (c[i] != s[offset + i]) return false;
  }
  return true;
}

// The constant as the kernel reads it: itself, or broadcast to the segment's shape.
int operand(graph::Graph& g, int value, const Shape& segment) {
  const Tensor& c = *g.values[value].constant;
  if (tiles(c.shape(), segment)) return value;
  std::vector<float> expanded(static_cast<size_t>(num_elements(segment)));
  const float* src = c.data_as<float>();
  ops::for_each_broadcast<1>(segment, {c.shape()}, [&](int64_t i, const int64_t* o) { expanded[i] = src[o[0]]; });
  return g.add_constant(g.unique_name(g.values[value].name + ":tiled"), Tensor::from_vector<float>(segment, expanded));
}

// The axis k that a Transpose producing `value` moves to the end, keeping the others in order
// (perm = [0..k-1, k+1..r-1, k]), when `value` has no other reader; -1 otherwise.
int64_t moved_axis(const graph::Graph& g, const std::vector<std::vector<int>>& consumers, int value) {
  const int producer = g.values[value].producer;
  if (producer < 0 || g.is_output(value) || consumers[value].size() != 1) return -1;
  const graph::Node& t = g.nodes[producer];
  if (t.removed || t.op != "Transpose" || !t.attrs.has("perm")) return -1;
  const std::vector<int64_t> perm = t.attrs.get_ints("perm");
  if (perm.size() < 2) return -1;
  const int64_t k = perm.back();
  std::vector<int64_t> expected;
  for (int64_t a = 0; a < static_cast<int64_t>(perm.size()); ++a) {
    if (a != k) expected.push_back(a);
  }
  expected.push_back(k);
  return perm == expected && k != static_cast<int64_t>(perm.size()) - 1 ? k : -1;
}

void fuse(graph::Graph& g, const std::vector<std::vector<int>>& consumers, graph::Node& split, const std::vector<Chain>& chains) {
  graph::Node& concat = g.nodes[chains[0].concat];
  std::vector<int64_t> widths, step_segment, step_op_ids, step_first;
  std::vector<int> inputs = {split.inputs[0]};
  for (size_t s = 0; s < chains.size(); ++s) {
    const Shape segment = g.values[split.outputs[s]].shape;  // a copy: add_constant grows values
    widths.push_back(segment.back());
    int x = split.outputs[s];
    for (int id : chains[s].steps) {
      graph::Node& step = g.nodes[id];
      const int side = constant_input(g, step, x);
      inputs.push_back(operand(g, step.inputs[side], segment));
      step_segment.push_back(static_cast<int64_t>(s));
      step_op_ids.push_back(static_cast<int64_t>(*step_op(step.op)));
      step_first.push_back(side == 0);
      x = step.outputs[0];
      step.removed = true;
    }
  }
  split.removed = true;
  concat.op = "SegmentedElementwise";
  concat.attrs = {};
  // The Transpose before the Split (YOLOv5's head, channels moved last) becomes the op's gather.
  if (const int64_t k = moved_axis(g, consumers, inputs[0]); k >= 0) {
    graph::Node& transpose = g.nodes[g.values[inputs[0]].producer];
    inputs[0] = transpose.inputs[0];
    transpose.removed = true;
    concat.attrs.set("from_axis", k);
  }
  concat.inputs = inputs;
  concat.attrs.set("segments", widths);
  concat.attrs.set("step_segment", step_segment);
  concat.attrs.set("step_op", step_op_ids);
  concat.attrs.set("step_constant_first", step_first);
}

}  // namespace

void fuse_segmented_elementwise(graph::Graph& g) {
  const auto consumers = g.consumers();
  bool changed = false;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    graph::Node& split = g.nodes[i];
    if (split.removed || split.op != "Split" || split.inputs.empty()) continue;
    const graph::Value& x = g.values[split.inputs[0]];
    if (x.dtype != DType::kFloat32 || !last_axis(split, static_cast<int64_t>(x.shape.size()))) continue;
    const std::optional<std::vector<Chain>> chains = chains_to_concat(g, consumers, split);
    if (!chains) continue;
    fuse(g, consumers, g.nodes[i], *chains);
    changed = true;
  }
  if (changed) g.compact();
}

}  // namespace sparrow::passes
