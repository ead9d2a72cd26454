// Sigmoid, Relu, Silu, Tanh, LeakyRelu, HardSwish, HardSigmoid, Clip with bounds known at
// compile time, and Pow with a constant scalar exponent through oneDNN eltwise, in the input's
// own layout.
#include <limits>

#include "kernels/onednn/primitive_kernel.h"
#include "kernels/selection.h"

namespace sparrow::kernels {
namespace {

// The op as oneDNN eltwise computes it: an algorithm with its alpha and beta, then for
// HardSigmoid a clip to [0, 1] (oneDNN 2.6 has no hard-sigmoid algorithm), and the constant
// inputs it took at compile time.
struct EltwiseForm {
  dnnl::algorithm alg = dnnl::algorithm::undef;
  float alpha = 0, beta = 0;
  bool clip_to_unit = false;
  std::vector<int> packed_inputs = {};
};

// A scalar float constant input (`present` false when the optional input is omitted).
std::optional<float> scalar_constant(const SelectContext& ctx, size_t i, bool& present) {
  present = ctx.has_input(i);
  if (!present) return std::nullopt;
  const Tensor* t = ctx.constant(i);
  if (!t || t->size() != 1 || t->dtype() != DType::kFloat32) return std::nullopt;
  return t->data_as<float>()[0];
}

// Clip's bounds: attributes before opset 11, optional constant inputs from it on.
std::optional<EltwiseForm> clip_form(const SelectContext& ctx, std::string& why_not) {
  EltwiseForm f{dnnl::algorithm::eltwise_clip, std::numeric_limits<float>::lowest(), std::numeric_limits<float>::max()};
  if (ctx.node.opset < 11) {
    f.alpha = ctx.node.attrs.get_float("min", f.alpha), f.beta = ctx.node.attrs.get_float("max", f.beta);
  } else {
    for (size_t i = 1; i <= 2; ++i) {
      bool present = false;
      const std::optional<float> bound = scalar_constant(ctx, i, present);
      if (present && !bound) {
        why_not = "a bound is computed at run time";
        return std::nullopt;
      }
      if (bound) (i == 1 ? f.alpha : f.beta) = *bound;
      if (bound) f.packed_inputs.push_back(static_cast<int>(i));
    }
  }
  // ONNX then gives max everywhere; oneDNN would give min.
  if (!(f.alpha <= f.beta)) {
    why_not = "min exceeds max";
    return std::nullopt;
  }
  return f;
}

std::optional<EltwiseForm> pow_form(const SelectContext& ctx, std::string& why_not) {
  bool present = false;
  const std::optional<float> e = scalar_constant(ctx, 1, present);
  if (!e || ctx.output(0).shape != ctx.input(0).shape) {
    why_not = "exponent is not a constant float scalar";
    return std::nullopt;
  }
  return EltwiseForm{dnnl::algorithm::eltwise_pow, 1.0f, *e, false, {1}};
}

std::optional<EltwiseForm> eltwise_form(const SelectContext& ctx, std::string& why_not) {
  const std::string& op = ctx.node.op;
  const graph::Attributes& attrs = ctx.node.attrs;
  if (op == "Sigmoid") return EltwiseForm{dnnl::algorithm::eltwise_logistic};
  if (op == "Relu") return EltwiseForm{dnnl::algorithm::eltwise_relu};
  if (op == "Silu") return EltwiseForm{dnnl::algorithm::eltwise_swish, 1.0f};
  if (op == "Tanh") return EltwiseForm{dnnl::algorithm::eltwise_tanh};
  if (op == "LeakyRelu") return EltwiseForm{dnnl::algorithm::eltwise_relu, attrs.get_float("alpha", 0.01f)};
  if (op == "HardSwish") return EltwiseForm{dnnl::algorithm::eltwise_hardswish};
  if (op == "HardSigmoid") {
    return EltwiseForm{dnnl::algorithm::eltwise_linear, attrs.get_float("alpha", 0.2f), attrs.get_float("beta", 0.5f), true};
  }
  if (op == "Clip") return clip_form(ctx, why_not);
  if (op == "Pow") return pow_form(ctx, why_not);
  why_not = "no oneDNN eltwise algorithm for " + op;
  return std::nullopt;
}

}  // namespace

std::optional<Selection> select_onednn_eltwise(const SelectContext& ctx, std::string& why_not) {
  const graph::Value& x = ctx.input(0);
  if (x.dtype != DType::kFloat32 || num_elements(x.shape) == 0) {
    why_not = "needs a non-empty float32 tensor";
    return std::nullopt;
  }
  const std::optional<EltwiseForm> form = eltwise_form(ctx, why_not);
  if (!form) return std::nullopt;
  dnnl::primitive_attr attr = default_attr();
  if (form->clip_to_unit) {
    dnnl::post_ops post_ops;
    post_ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, 0.0f, 1.0f);
    attr.set_post_ops(post_ops);
  }
  const dnnl::memory::desc src = desc_of(ctx.available[0], x.dtype, x.shape);
  dnnl::eltwise_forward::desc desc(dnnl::prop_kind::forward_inference, form->alg, src, form->alpha, form->beta);
  dnnl::eltwise_forward::primitive_desc pd(desc, attr, cpu_engine());
  Selection s;
  s.kernel = std::make_unique<PrimitiveKernel>(dnnl::eltwise_forward(pd), pd,
                                               std::vector<ArgBinding>{{DNNL_ARG_SRC, 0, pd.src_desc()}},
                                               std::vector<ArgBinding>{{DNNL_ARG_DST, 0, pd.dst_desc()}});
  s.input_layouts.assign(ctx.node.inputs.size(), Layout::plain());
  s.input_layouts[0] = ctx.available[0];
  s.output_layouts = {layout_of(pd.dst_desc(), x.dtype, x.shape)};
  s.packed_inputs = form->packed_inputs;
  return s;
}

}  // namespace sparrow::kernels
