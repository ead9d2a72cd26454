// QLinearSigmoid and QLinearLeakyRelu, onnxruntime's com.microsoft QOperator activations: X on
// a per-tensor 8-bit grid, Y on another of the same type, zero points optional (0). The
// reference dequantizes, applies the activation in float and quantizes, which is how
// onnxruntime fills the 256-entry table it runs these with.
#include <cmath>

#include "ops/op_families.h"
#include "ops/qlinear_common.h"

namespace sparrow::ops {
namespace {

enum Input { kX, kXScale, kXZero, kYScale, kYZero };

std::vector<TypeShape> infer_qlinear_unary(const InferContext& ctx) {
  // expect_inputs(4, 5) would also require the optional X zero point.
  ctx.expect_inputs(1, 5);
  if (ctx.num_inputs() < 4) ctx.invalid("expects 4 or 5 inputs, has " + std::to_string(ctx.num_inputs()));
  ctx.expect_dtype(kX, {DType::kUint8, DType::kInt8});
  const DType type = ctx.dtype(kX);
  check_quant_params(ctx, {kXScale, kXZero, "X", type, true});
  check_quant_params(ctx, {kYScale, kYZero, "Y", type, true});
  // No ONNX schema checks contrib ops' attributes: a non-float alpha must fail here, not at run time.
  ctx.attrs().get_float("alpha", 0.01f);
  return {{type, ctx.shape(kX)}};
}

float sigmoid(float x, float) { return 1.0f / (1.0f + std::exp(-x)); }
float leaky_relu(float x, float alpha) { return x >= 0 ? x : alpha * x; }

template <float (*F)(float, float)>
void eval_qlinear_unary(const graph::Node& node, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  const float alpha = node.attrs.get_float("alpha", 0.01f);
  const float x_scale = in[kXScale].as<float>()[0], y_scale = in[kYScale].as<float>()[0];
  const int32_t x_zero = zero_point_at(in, kXZero), y_zero = zero_point_at(in, kYZero);
  for (int64_t i = 0; i < out[0].size(); ++i) {
    const float x = static_cast<float>(integer_at(in[kX], i) - x_zero) * x_scale;
    store_quantized(out[0], i, F(x, alpha), y_scale, y_zero);
  }
}

}  // namespace

void register_qlinear_unary_ops(std::vector<OpDef>& ops) {
  ops.push_back({"QLinearSigmoid", infer_qlinear_unary, eval_qlinear_unary<sigmoid>, false, kMicrosoftDomain});
  ops.push_back({"QLinearLeakyRelu", infer_qlinear_unary, eval_qlinear_unary<leaky_relu>, false, kMicrosoftDomain});
}

}  // namespace sparrow::ops
