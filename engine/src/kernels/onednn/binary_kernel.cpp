// Add, Sub, Mul, Div on float32 through oneDNN binary: same-layout operands of one shape, or
// plain operands where the second broadcasts onto the first.
#include "kernels/onednn/primitive_kernel.h"
#include "kernels/selection.h"

namespace sparrow::kernels {
namespace {

dnnl::algorithm binary_algorithm(const std::string& op) {
  if (op == "Add") return dnnl::algorithm::binary_add;
  if (op == "Sub") return dnnl::algorithm::binary_sub;
  if (op == "Mul") return dnnl::algorithm::binary_mul;
  return dnnl::algorithm::binary_div;
}

// `shape` right-aligned to `rank` dims with leading ones.
Shape padded(const Shape& shape, size_t rank) {
  Shape s(rank - shape.size(), 1);
  s.insert(s.end(), shape.begin(), shape.end());
  return s;
}

}  // namespace

std::optional<Selection> select_onednn_binary(const SelectContext& ctx, std::string& why_not) {
  const Shape& y = ctx.output(0).shape;
  if (ctx.output(0).dtype != DType::kFloat32 || num_elements(y) == 0 || y.empty()) {
    why_not = "needs non-empty float32 tensors of rank >= 1";
    return std::nullopt;
  }
  // oneDNN broadcasts only its second source: put the full-shape operand first.
  int first = 0;
  if (ctx.input(0).shape != y) {
    const bool commutative = ctx.node.op == "Add" || ctx.node.op == "Mul";
    if (!commutative || ctx.input(1).shape != y) {
      why_not = "the first operand would need broadcasting";
      return std::nullopt;
    }
    first = 1;
  }
  const int second = 1 - first;
  Selection s;
  s.input_layouts.assign(2, Layout::plain());
  dnnl::memory::desc src0, src1;
  if (ctx.input(second).shape == y && ctx.available[0] == ctx.available[1]) {
    // Same shape and layout: run in that layout, blocked or not.
    src0 = src1 = desc_of(ctx.available[first], DType::kFloat32, y);
    s.input_layouts = ctx.available;
  } else {
    src0 = plain_desc(DType::kFloat32, y);
    src1 = plain_desc(DType::kFloat32, padded(ctx.input(second).shape, y.size()));
  }
  const dnnl::memory::desc dst = src0;
  dnnl::binary::desc desc(binary_algorithm(ctx.node.op), src0, src1, dst);
  dnnl::binary::primitive_desc pd(desc, default_attr(), cpu_engine());
  // oneDNN falls back to its scalar reference for some broadcasts; Sparrow's reference is
  // faster there (benchmarks/kernels).
  if (is_reference_implementation(pd)) {
    why_not = "oneDNN offers only its reference implementation for this broadcast";
    return std::nullopt;
  }
  s.kernel = std::make_unique<PrimitiveKernel>(
      dnnl::binary(pd), pd, std::vector<ArgBinding>{{DNNL_ARG_SRC_0, first, src0}, {DNNL_ARG_SRC_1, second, src1}},
      std::vector<ArgBinding>{{DNNL_ARG_DST, 0, dst}});
  s.output_layouts = {layout_of(dst, DType::kFloat32, y)};
  return s;
}

}  // namespace sparrow::kernels
