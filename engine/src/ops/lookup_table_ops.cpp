// LookupTable, an internal op made by passes/fuse_qdq_lut: y[i] = table[x[i]] for 8-bit x and a
// 256-entry 8-bit table indexed by x's byte (an s8 x of -1 reads entry 255). Any function of one
// byte, such as a quantized SiLU between two grids or a requantization, is one such table.
#include "ops/op_families.h"

namespace sparrow::ops {
namespace {

constexpr int64_t kTableSize = 256;

std::vector<TypeShape> infer_lookup_table(const InferContext& ctx) {
  ctx.expect_inputs(2, 2);
  ctx.expect_dtype(0, {DType::kUint8, DType::kInt8});
  ctx.expect_dtype(1, {DType::kUint8, DType::kInt8});
  if (num_elements(ctx.shape(1)) != kTableSize) {
    ctx.invalid("the table has " + std::to_string(num_elements(ctx.shape(1))) + " entries, not 256");
  }
  return {{ctx.dtype(1), ctx.shape(0)}};
}

// Both sides are bytes whatever their signedness, so one loop serves u8 and s8.
void eval_lookup_table(const graph::Node&, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  const auto* x = in[0].as<uint8_t>();
  const auto* table = in[1].as<uint8_t>();
  auto* y = out[0].as<uint8_t>();
  for (int64_t i = 0; i < out[0].size(); ++i) y[i] = table[x[i]];
}

}  // namespace

void register_lookup_table_ops(std::vector<OpDef>& ops) { ops.push_back({"LookupTable", infer_lookup_table, eval_lookup_table}); }

}  // namespace sparrow::ops
