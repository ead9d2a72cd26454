// A residual add into the conv that computes one of its operands, so that the sum is made as the
// conv writes its output, not in a pass of its own over memory:
//   Conv -> Add: the Conv adds its input 3 last (ops::kResidualAttr);
//   QLinearConv (with its table, if any) -> QLinearAdd on u8: the QLinearConv carries the
//   QLinearAdd's inputs (ops::kAddAttr), its own result's slot left empty.
// The conv's result must have no other reader, the residual must exist before the conv runs, and
// both operands must have exactly the sum's shape (no broadcasting).
#include "ops/fused_attrs.h"
#include "passes/passes.h"

namespace sparrow::passes {
namespace {

struct AddForm {
  bool quantized;
  const char* add;
  const char* conv;
  int operands[2];  // the add's input slots of its two operands
  DType dtype;
};
constexpr AddForm kFloatAdd{false, "Add", "Conv", {0, 1}, DType::kFloat32};
constexpr AddForm kQuantizedAdd{true, "QLinearAdd", "QLinearConv", {0, 3}, DType::kUint8};

bool constant(const graph::Graph& g, int value) { return value != graph::kNoValue && g.values[value].constant.has_value(); }

// Whether a QLinearAdd's grids are constants with zero points given, as the u8 kernels need.
bool quantized_add_fusable(const graph::Graph& g, const graph::Node& add) {
  if (add.inputs.size() != 8) return false;
  for (int i : {1, 2, 4, 5, 6, 7}) {
    if (!constant(g, add.inputs[i])) return false;
  }
  return g.values[add.outputs[0]].dtype == DType::kUint8;
}

// The conv producing `value` if the add may absorb it: its only reader is the add, it has no
// residual yet, and it computes exactly the add's output shape.
graph::Node* fusable_conv(graph::Graph& g, const std::vector<std::vector<int>>& consumers, const AddForm& form, int value,
                          const Shape& out_shape) {
  const int producer = g.values[value].producer;
  if (producer < 0) return nullptr;
  graph::Node& conv = g.nodes[producer];
  if (conv.removed || conv.op != form.conv || conv.attrs.has(ops::kResidualAttr) || conv.attrs.has(ops::kAddAttr)) return nullptr;
  if (conv.attrs.get_int(ops::kFloatOutputAttr, 0) != 0) return nullptr;
  if (consumers[value].size() != 1 || g.is_output(value)) return nullptr;
  if (g.values[value].shape != out_shape || g.values[value].dtype != form.dtype) return nullptr;
  return &conv;
}

void absorb(graph::Node& conv, graph::Node& add, const AddForm& form, int conv_slot, int residual) {
  if (!form.quantized) {
    conv.inputs.resize(3, graph::kNoValue);
    conv.inputs.push_back(residual);
    conv.attrs.set(ops::kResidualAttr, int64_t{1});
  } else {
    conv.inputs.resize(ops::kAddInput, graph::kNoValue);
    for (size_t i = 0; i < add.inputs.size(); ++i) {
      conv.inputs.push_back(static_cast<int>(i) == conv_slot ? graph::kNoValue : add.inputs[i]);
    }
    conv.attrs.set(ops::kAddAttr, int64_t{1});
  }
  conv.outputs = add.outputs;
  conv.name += "+" + add.name;
  add.removed = true;
}

void fuse(graph::Graph& g, const AddForm& form) {
  auto consumers = g.consumers();
  for (graph::Node& add : g.nodes) {
    if (add.removed || add.op != form.add) continue;
    if (form.quantized ? !quantized_add_fusable(g, add) : add.inputs.size() != 2) continue;
    const Shape& out_shape = g.values[add.outputs[0]].shape;
    graph::Node* best = nullptr;
    int residual = -1, conv_slot = -1;
    for (int side = 0; side < 2; ++side) {
      const int slot = form.operands[side], other = add.inputs[form.operands[1 - side]];
      graph::Node* conv = fusable_conv(g, consumers, form, add.inputs[slot], out_shape);
      if (!conv || g.values[other].shape != out_shape || g.values[other].dtype != form.dtype) continue;
      // The residual must exist before the conv runs: take the conv that comes later.
      if (!best || conv > best) {
        best = conv;
        residual = other;
        conv_slot = slot;
      }
    }
    if (!best) continue;
    const int other_producer = g.values[residual].producer;
    if (other_producer >= 0 && &g.nodes[other_producer] > best) continue;
    absorb(*best, add, form, conv_slot, residual);
  }
  g.compact();
}

}  // namespace

void fuse_conv_residual(graph::Graph& g) {
  fuse(g, kFloatAdd);
  fuse(g, kQuantizedAdd);
}

}  // namespace sparrow::passes
