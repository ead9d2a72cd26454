// The activations other YOLOv5 variants and exporters use besides SiLU: LeakyRelu,
// HardSigmoid, HardSwish (float32, with their ONNX attributes) and Clip (any numeric type; its
// bounds are attributes before opset 11 and optional scalar inputs from it on, ReLU6 being
// Clip(0, 6)).
#include <algorithm>
#include <limits>
#include <type_traits>

#include "ops/op_families.h"

namespace sparrow::ops {
namespace {

std::vector<TypeShape> infer_float_activation(const InferContext& ctx) {
  ctx.expect_inputs(1, 1);
  ctx.expect_dtype(0, {DType::kFloat32});
  return {{DType::kFloat32, ctx.shape(0)}};
}

// The op's alpha and beta attributes (HardSwish has them fixed).
struct Params {
  float alpha, beta;
};

float leaky_relu(float x, Params p) { return x >= 0 ? x : p.alpha * x; }
float hard_sigmoid(float x, Params p) { return std::clamp(p.alpha * x + p.beta, 0.0f, 1.0f); }
float hard_swish(float x, Params) { return x * hard_sigmoid(x, {1.0f / 6.0f, 0.5f}); }

template <float (*F)(float, Params)>
void eval_float_activation(const graph::Node& node, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  // ONNX's default alpha: 0.2 for HardSigmoid, 0.01 for LeakyRelu.
  const float default_alpha = node.op == "HardSigmoid" ? 0.2f : 0.01f;
  const Params p = {node.attrs.get_float("alpha", default_alpha), node.attrs.get_float("beta", 0.5f)};
  const float* x = in[0].as<float>();
  float* y = out[0].as<float>();
  for (int64_t i = 0; i < out[0].size(); ++i) y[i] = F(x[i], p);
}

std::vector<TypeShape> infer_clip(const InferContext& ctx) {
  const bool bounds_are_inputs = ctx.opset() >= 11;
  ctx.expect_inputs(1, bounds_are_inputs ? 3 : 1);
  ctx.expect_dtype(0, bounds_are_inputs ? std::initializer_list<DType>{DType::kFloat32, DType::kUint8, DType::kInt8,
                                                                        DType::kInt32, DType::kInt64}
                                        : std::initializer_list<DType>{DType::kFloat32});
  for (size_t i = 1; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) continue;
    const char* name = i == 1 ? "min" : "max";
    if (ctx.dtype(i) != ctx.dtype(0)) ctx.invalid(std::string(name) + " is " + dtype_name(ctx.dtype(i)) + " but the input is " + dtype_name(ctx.dtype(0)));
    if (num_elements(ctx.shape(i)) != 1) ctx.invalid(std::string(name) + " has shape " + shape_string(ctx.shape(i)) + "; it must be a scalar");
  }
  return {{ctx.dtype(0), ctx.shape(0)}};
}

// Bound `i` (1: min, 2: max): the input, the opset-6 attribute, or the type's extreme.
template <typename T>
T clip_bound(const graph::Node& node, const std::vector<TensorView>& in, size_t i) {
  const bool is_min = i == 1;
  const T extreme = is_min ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
  if (node.opset < 11) {
    if constexpr (std::is_same_v<T, float>) return node.attrs.get_float(is_min ? "min" : "max", extreme);
    return extreme;
  }
  return i < in.size() && in[i].data ? in[i].as<T>()[0] : extreme;
}

// min(max(x, lo), hi) as numpy.clip computes it: NaN stays NaN, and lo > hi gives hi.
void eval_clip(const graph::Node& node, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  dispatch_dtype(out[0].dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (!std::is_same_v<T, bool>) {
      const T lo = clip_bound<T>(node, in, 1), hi = clip_bound<T>(node, in, 2);
      const T* x = in[0].as<T>();
      T* y = out[0].as<T>();
      for (int64_t i = 0; i < out[0].size(); ++i) {
        const T v = x[i] < lo ? lo : x[i];
        y[i] = v > hi ? hi : v;
      }
    }
  });
}

}  // namespace

void register_activation_ops(std::vector<OpDef>& ops) {
  ops.push_back({"LeakyRelu", infer_float_activation, eval_float_activation<leaky_relu>});
  ops.push_back({"HardSigmoid", infer_float_activation, eval_float_activation<hard_sigmoid>});
  ops.push_back({"HardSwish", infer_float_activation, eval_float_activation<hard_swish>});
  ops.push_back({"Clip", infer_clip, eval_clip});
}

}  // namespace sparrow::ops
