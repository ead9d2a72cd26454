// QLinearAdd (onnxruntime's com.microsoft contrib op, here made by passes/fuse_qdq_add from
// DequantizeLinear -> Add -> QuantizeLinear): A and B on their own u8 grids, the sum on a
// third. Same-shape operands only: YOLOv5's residual adds. The reference dequantizes, adds and
// quantizes in float as ONNX's QDQ graph does.
#include <cmath>

#include "ops/op_families.h"

namespace sparrow::ops {
namespace {

enum Input { kA, kAScale, kAZero, kB, kBScale, kBZero, kYScale, kYZero };

std::vector<TypeShape> infer_qlinear_add(const InferContext& ctx) {
  ctx.expect_inputs(8, 8);
  for (Input i : {kA, kAZero, kB, kBZero, kYZero}) ctx.expect_dtype(i, {DType::kUint8});
  for (Input i : {kAScale, kAZero, kBScale, kBZero, kYScale, kYZero}) {
    if (num_elements(ctx.shape(i)) != 1) ctx.unsupported("quantization parameters must be per tensor");
  }
  if (ctx.shape(kA) != ctx.shape(kB)) ctx.unsupported("operands of different shapes " + shape_string(ctx.shape(kA)) + " and " + shape_string(ctx.shape(kB)));
  return {{DType::kUint8, ctx.shape(kA)}};
}

void eval_qlinear_add(const graph::Node&, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  auto dequantize = [&](Input q, Input scale, Input zero, int64_t i) {
    return static_cast<float>(static_cast<int32_t>(in[q].as<uint8_t>()[i]) - in[zero].as<uint8_t>()[0]) * in[scale].as<float>()[0];
  };
  const float y_scale = in[kYScale].as<float>()[0];
  const float y_zero = static_cast<float>(in[kYZero].as<uint8_t>()[0]);
  for (int64_t i = 0; i < out[0].size(); ++i) {
    const float sum = dequantize(kA, kAScale, kAZero, i) + dequantize(kB, kBScale, kBZero, i);
    out[0].as<uint8_t>()[i] = static_cast<uint8_t>(std::fmin(std::fmax(std::nearbyint(sum / y_scale) + y_zero, 0.0f), 255.0f));
  }
}

}  // namespace

void register_qlinear_add_ops(std::vector<OpDef>& ops) { ops.push_back({"QLinearAdd", infer_qlinear_add, eval_qlinear_add}); }

}  // namespace sparrow::ops
