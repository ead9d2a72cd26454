// MatMul on float32 through oneDNN matmul: operands of rank 2 or more in plain row-major
// layout, their batch dims padded with leading ones to the output's so oneDNN broadcasts them.
// Vector operands (rank 1), whose dim the output drops, stay on the reference.
#include "kernels/onednn/primitive_kernel.h"
#include "kernels/selection.h"

namespace sparrow::kernels {
namespace {

// The last two dims of `shape` behind `batch_rank` batch dims, missing ones set to 1.
Shape with_batch_rank(const Shape& shape, size_t batch_rank) {
  Shape s(batch_rank + 2 - shape.size(), 1);
  s.insert(s.end(), shape.begin(), shape.end());
  return s;
}

}  // namespace

std::optional<Selection> select_onednn_matmul(const SelectContext& ctx, std::string& why_not) {
  const Shape& a = ctx.input(0).shape;
  const Shape& b = ctx.input(1).shape;
  const Shape& y = ctx.output(0).shape;
  if (a.size() < 2 || b.size() < 2 || y.size() > DNNL_MAX_NDIMS || num_elements(y) == 0 || a.back() == 0) {
    why_not = "needs non-empty operands of rank 2 or more";
    return std::nullopt;
  }
  const size_t batch_rank = y.size() - 2;
  const dnnl::memory::desc src = plain_desc(DType::kFloat32, with_batch_rank(a, batch_rank));
  const dnnl::memory::desc weights = plain_desc(DType::kFloat32, with_batch_rank(b, batch_rank));
  const dnnl::memory::desc dst = plain_desc(DType::kFloat32, y);
  dnnl::matmul::desc desc(src, weights, dst);
  dnnl::matmul::primitive_desc pd(desc, default_attr(), cpu_engine());
  Selection s;
  s.kernel = std::make_unique<PrimitiveKernel>(
      dnnl::matmul(pd), pd, std::vector<ArgBinding>{{DNNL_ARG_SRC, 0, src}, {DNNL_ARG_WEIGHTS, 1, weights}},
      std::vector<ArgBinding>{{DNNL_ARG_DST, 0, dst}});
  s.input_layouts = {Layout::plain(), Layout::plain()};
  s.output_layouts = {Layout::plain()};
  s.gflop = 2e-9 * static_cast<double>(num_elements(y)) * static_cast<double>(a.back());
  return s;
}

}  // namespace sparrow::kernels
