// QLinearConcat, onnxruntime's com.microsoft QOperator concatenation. Its inputs are the
// output's scale and zero point, then one (tensor, scale, zero point) triple per part; every
// part has its own per-tensor grid and is requantized onto the output's, all of one 8-bit
// type. The reference dequantizes and quantizes each element, which leaves a part already on
// the output's grid unchanged.
#include "ops/op_families.h"
#include "ops/qlinear_common.h"

namespace sparrow::ops {
namespace {

constexpr size_t kYScale = 0, kYZero = 1, kFirstPart = 2;

size_t part_count(const InferContext& ctx) {
  const size_t n = ctx.num_inputs();
  if (n < kFirstPart + 3 || (n - kFirstPart) % 3 != 0) {
    ctx.invalid("expects the output's scale and zero point, then (tensor, scale, zero point) triples; has " +
                std::to_string(n) + " inputs");
  }
  return (n - kFirstPart) / 3;
}

// The concatenated shape; parts must agree on every dim but the axis.
Shape concat_shape(const InferContext& ctx, size_t parts, int64_t axis) {
  Shape out = ctx.shape(kFirstPart);
  out[axis] = 0;
  for (size_t p = 0; p < parts; ++p) {
    const Shape& s = ctx.shape(kFirstPart + 3 * p);
    for (size_t d = 0; d < out.size(); ++d) {
      if (s.size() != out.size() || (static_cast<int64_t>(d) != axis && s[d] != out[d])) {
        ctx.invalid("part " + std::to_string(p) + " has shape " + shape_string(s) + ", which does not concatenate with " +
                    shape_string(ctx.shape(kFirstPart)) + " along axis " + std::to_string(axis));
      }
    }
    out[axis] += s[axis];
  }
  return out;
}

std::vector<TypeShape> infer_qlinear_concat(const InferContext& ctx) {
  const size_t parts = part_count(ctx);
  if (!ctx.has_input(kFirstPart)) ctx.invalid("part 0 is missing");
  ctx.expect_dtype(kFirstPart, {DType::kUint8, DType::kInt8});
  const DType type = ctx.dtype(kFirstPart);
  check_quant_params(ctx, {kYScale, kYZero, "Y", type, true});
  for (size_t p = 0; p < parts; ++p) {
    const size_t x = kFirstPart + 3 * p;
    const std::string name = "input " + std::to_string(p);
    if (!ctx.has_input(x)) ctx.invalid(name + " is missing");
    if (ctx.dtype(x) != type) ctx.invalid(name + " is " + dtype_name(ctx.dtype(x)) + " but input 0 is " + dtype_name(type));
    check_quant_params(ctx, {x + 1, x + 2, name, type, true});
  }
  if (!ctx.attrs().has("axis")) ctx.invalid("the axis attribute is required");
  const int64_t axis = normalize_axis(ctx.attrs().get_int("axis", 0), ctx.rank(kFirstPart));
  return {{type, concat_shape(ctx, parts, axis)}};
}

void eval_qlinear_concat(const graph::Node& node, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  const Shape& y = out[0].shape;
  const int64_t axis = normalize_axis(node.attrs.get_int("axis", 0), static_cast<int64_t>(y.size()));
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= y[d];
  const float y_scale = in[kYScale].as<float>()[0];
  const int32_t y_zero = zero_point_at(in, kYZero);
  int64_t next = 0;  // output elements are written in order: each outer step, each part's run
  for (int64_t o = 0; o < outer; ++o) {
    for (size_t x = kFirstPart; x + 2 < in.size(); x += 3) {
      const int64_t run = outer == 0 ? 0 : in[x].size() / outer;
      const float scale = in[x + 1].as<float>()[0];
      const int32_t zero = zero_point_at(in, x + 2);
      for (int64_t j = 0; j < run; ++j) {
        const float real = static_cast<float>(integer_at(in[x], o * run + j) - zero) * scale;
        store_quantized(out[0], next++, real, y_scale, y_zero);
      }
    }
  }
}

}  // namespace

void register_qlinear_concat_ops(std::vector<OpDef>& ops) {
  ops.push_back({"QLinearConcat", infer_qlinear_concat, eval_qlinear_concat, false, kMicrosoftDomain});
}

}  // namespace sparrow::ops
