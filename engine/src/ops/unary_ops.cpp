// Elementwise unary ops: Sigmoid, Relu, Tanh, the fused Silu (x * sigmoid(x)) and Cast.
#include <cmath>
#include <limits>
#include <type_traits>

#include "graph/onnx_dtype.h"
#include "ops/op_families.h"

namespace sparrow::ops {
namespace {

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

std::vector<TypeShape> infer_float_unary(const InferContext& ctx) {
  ctx.expect_inputs(1, 1);
  ctx.expect_dtype(0, {DType::kFloat32});
  return {{DType::kFloat32, ctx.shape(0)}};
}

template <float (*F)(float)>
void eval_float_unary(const graph::Node&, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  const float* x = in[0].as<float>();
  float* y = out[0].as<float>();
  const int64_t n = out[0].size();
  for (int64_t i = 0; i < n; ++i) y[i] = F(x[i]);
}

float relu(float x) { return x > 0 ? x : 0.0f; }
float hyperbolic_tangent(float x) { return std::tanh(x); }
float silu(float x) { return x * sigmoid(x); }

std::vector<TypeShape> infer_cast(const InferContext& ctx) {
  ctx.expect_inputs(1, 1);
  ctx.expect_dtype(0, {DType::kFloat32, DType::kUint8, DType::kInt8, DType::kInt32, DType::kInt64, DType::kBool});
  const int64_t to = ctx.attrs().get_int("to", 0);
  auto dtype = graph::dtype_from_onnx(to);
  if (!dtype) ctx.unsupported("cast to " + graph::onnx_dtype_name(to) + " is not supported");
  return {{*dtype, ctx.shape(0)}};
}

// Float to integer conversion saturates and maps NaN to 0: the plain cast is undefined there.
template <typename To, typename From>
To convert(From v) {
  if constexpr (std::is_same_v<To, bool>) {
    return v != From{};
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    if (std::isnan(v)) return 0;
    if (v <= static_cast<From>(std::numeric_limits<To>::lowest())) return std::numeric_limits<To>::lowest();
    if (v >= static_cast<From>(std::numeric_limits<To>::max())) return std::numeric_limits<To>::max();
    return static_cast<To>(v);
  } else {
    return static_cast<To>(v);
  }
}

void eval_cast(const graph::Node&, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  const int64_t n = out[0].size();
  dispatch_dtype(in[0].dtype, [&](auto from_tag) {
    using From = decltype(from_tag);
    dispatch_dtype(out[0].dtype, [&](auto to_tag) {
      using To = decltype(to_tag);
      const From* x = in[0].as<From>();
      To* y = out[0].as<To>();
      for (int64_t i = 0; i < n; ++i) y[i] = convert<To>(x[i]);
    });
  });
}

}  // namespace

void register_unary_ops(std::vector<OpDef>& ops) {
  ops.push_back({"Sigmoid", infer_float_unary, eval_float_unary<sigmoid>});
  ops.push_back({"Relu", infer_float_unary, eval_float_unary<relu>});
  ops.push_back({"Tanh", infer_float_unary, eval_float_unary<hyperbolic_tangent>});
  ops.push_back({"Silu", infer_float_unary, eval_float_unary<silu>});
  ops.push_back({"Cast", infer_cast, eval_cast});
}

}  // namespace sparrow::ops
