// Sigmoid, Relu, Silu and Pow with a constant scalar exponent through oneDNN eltwise, in the
// input's own layout.
#include "kernels/onednn/primitive_kernel.h"
#include "kernels/selection.h"

namespace sparrow::kernels {

std::optional<Selection> select_onednn_eltwise(const SelectContext& ctx, std::string& why_not) {
  const graph::Value& x = ctx.input(0);
  if (x.dtype != DType::kFloat32 || num_elements(x.shape) == 0) {
    why_not = "needs a non-empty float32 tensor";
    return std::nullopt;
  }
  dnnl::algorithm alg = dnnl::algorithm::undef;
  float alpha = 0, beta = 0;
  const std::string& op = ctx.node.op;
  if (op == "Sigmoid") alg = dnnl::algorithm::eltwise_logistic;
  if (op == "Relu") alg = dnnl::algorithm::eltwise_relu;
  if (op == "Silu") alg = dnnl::algorithm::eltwise_swish, alpha = 1.0f;
  if (op == "Pow") {
    const Tensor* e = ctx.constant(1);
    if (!e || e->size() != 1 || e->dtype() != DType::kFloat32 || ctx.output(0).shape != x.shape) {
      why_not = "exponent is not a constant float scalar";
      return std::nullopt;
    }
    alg = dnnl::algorithm::eltwise_pow, alpha = 1.0f, beta = e->data_as<float>()[0];
  }
  const dnnl::memory::desc src = desc_of(ctx.available[0], x.dtype, x.shape);
  dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference, alg, src, alpha, beta);
  dnnl::eltwise_forward::primitive_desc pd(desc, default_attr(), cpu_engine());
  Selection s;
  s.kernel = std::make_unique<PrimitiveKernel>(dnnl::eltwise_forward(pd), pd,
                                               std::vector<ArgBinding>{{DNNL_ARG_SRC, 0, pd.src_desc()}},
                                               std::vector<ArgBinding>{{DNNL_ARG_DST, 0, pd.dst_desc()}});
  s.input_layouts.assign(ctx.node.inputs.size(), Layout::plain());
  s.input_layouts[0] = ctx.available[0];
  s.output_layouts = {layout_of(pd.dst_desc(), x.dtype, x.shape)};
  if (op == "Pow") s.packed_inputs = {1};
  return s;
}

}  // namespace sparrow::kernels
