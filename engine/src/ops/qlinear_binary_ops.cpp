// QLinearAdd and QLinearMul, onnxruntime's com.microsoft QOperator ops (QLinearAdd is also made
// by passes/fuse_qdq_add from DequantizeLinear -> Add -> QuantizeLinear): A and B on their own
// per-tensor 8-bit grids, broadcast numpy-style, the result on a third grid of the same type.
// Zero points may be omitted (0). The reference dequantizes, computes in float and quantizes,
// as ONNX's QDQ graph and onnxruntime's reference do.
#include "ops/broadcast.h"
#include "ops/op_families.h"
#include "ops/qlinear_common.h"

namespace sparrow::ops {
namespace {

enum Input { kA, kAScale, kAZero, kB, kBScale, kBZero, kCScale, kCZero };

std::vector<TypeShape> infer_qlinear_binary(const InferContext& ctx) {
  // expect_inputs(7, 8) would also require the optional zero points.
  ctx.expect_inputs(1, 8);
  if (ctx.num_inputs() < 7) ctx.invalid("expects 7 or 8 inputs, has " + std::to_string(ctx.num_inputs()));
  if (!ctx.has_input(kB)) ctx.invalid("input B is missing");
  ctx.expect_dtype(kA, {DType::kUint8, DType::kInt8});
  const DType type = ctx.dtype(kA);
  if (ctx.dtype(kB) != type) ctx.invalid(std::string("B is ") + dtype_name(ctx.dtype(kB)) + " but A is " + dtype_name(type));
  check_quant_params(ctx, {kAScale, kAZero, "A", type, true});
  check_quant_params(ctx, {kBScale, kBZero, "B", type, true});
  check_quant_params(ctx, {kCScale, kCZero, "C", type, true});
  return {{type, broadcast_shapes({ctx.shape(kA), ctx.shape(kB)})}};
}

float dequantized(const std::vector<TensorView>& in, Input q, Input scale, Input zero, int64_t i) {
  return static_cast<float>(integer_at(in[q], i) - zero_point_at(in, zero)) * in[scale].as<float>()[0];
}

template <bool kMul>
void eval_qlinear_binary(const graph::Node&, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  const float c_scale = in[kCScale].as<float>()[0];
  const int32_t c_zero = zero_point_at(in, kCZero);
  for_each_broadcast<2>(out[0].shape, {in[kA].shape, in[kB].shape}, [&](int64_t i, const int64_t* o) {
    const float a = dequantized(in, kA, kAScale, kAZero, o[0]), b = dequantized(in, kB, kBScale, kBZero, o[1]);
    store_quantized(out[0], i, kMul ? a * b : a + b, c_scale, c_zero);
  });
}

}  // namespace

void register_qlinear_binary_ops(std::vector<OpDef>& ops) {
  ops.push_back({"QLinearAdd", infer_qlinear_binary, eval_qlinear_binary<false>, false, kMicrosoftDomain});
  ops.push_back({"QLinearMul", infer_qlinear_binary, eval_qlinear_binary<true>, false, kMicrosoftDomain});
}

}  // namespace sparrow::ops
