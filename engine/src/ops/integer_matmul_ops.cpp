// MatMulInteger and QLinearMatMul (ONNX opset 10), numpy.matmul's shapes on 8-bit operands.
// Both accumulate (a - a_zero) * (b - b_zero) exactly in integers. MatMulInteger returns the
// int32 sums; QLinearMatMul scales them by a_scale * b_scale and quantizes onto y's grid. Zero
// points and scales are per tensor, or per row of A (and of Y) and per column of B, as the
// spec allows.
#include "ops/matmul_shape.h"
#include "ops/op_families.h"
#include "ops/qlinear_common.h"

namespace sparrow::ops {
namespace {

// Inner dims of the operands, for the per-row and per-column parameter lengths.
int64_t rows_of(const Shape& a) { return a.size() < 2 ? 1 : a[a.size() - 2]; }
int64_t columns_of(const Shape& b) { return b.size() < 2 ? 1 : b.back(); }

// Zero points of A (one, or one per row) and of B (one, or one per column); absent ones are 0.
struct ZeroPoints {
  const std::vector<TensorView>& in;
  size_t a_zero, b_zero;
  int32_t a(int64_t row) const { return zero_point_at(in, a_zero, in.size() > a_zero && in[a_zero].size() > 1 ? row : 0); }
  int32_t b(int64_t col) const { return zero_point_at(in, b_zero, in.size() > b_zero && in[b_zero].size() > 1 ? col : 0); }
};

// Calls store(y_index, row, column, exact sum) for every element of the output.
template <typename Store>
void integer_matmul(const TensorView& a, const TensorView& b, const ZeroPoints& zero, Store&& store) {
  const MatMulShape s = matmul_shape(a.shape, b.shape);
  for_each_matrix(s, [&](int64_t ao, int64_t bo, int64_t yo) {
    for (int64_t i = 0; i < s.m; ++i) {
      for (int64_t j = 0; j < s.n; ++j) {
        int64_t sum = 0;
        for (int64_t p = 0; p < s.k; ++p) {
          sum += static_cast<int64_t>(integer_at(a, ao + i * s.k + p) - zero.a(i)) * (integer_at(b, bo + p * s.n + j) - zero.b(j));
        }
        store(yo + i * s.n + j, i, j, sum);
      }
    }
  });
}

enum MatMulIntegerInput { kA, kB, kAZero, kBZero };

std::vector<TypeShape> infer_matmul_integer(const InferContext& ctx) {
  ctx.expect_inputs(2, 4);
  ctx.expect_dtype(kA, {DType::kUint8, DType::kInt8});
  ctx.expect_dtype(kB, {DType::kUint8, DType::kInt8});
  const MatMulShape s = matmul_shape(ctx.shape(kA), ctx.shape(kB));
  const struct {
    size_t input;
    size_t data;
    const char* name;
    int64_t per_axis;
    const char* what;
  } zeros[] = {{kAZero, kA, "a_zero_point", rows_of(ctx.shape(kA)), "row of A"},
               {kBZero, kB, "b_zero_point", columns_of(ctx.shape(kB)), "column of B"}};
  for (const auto& z : zeros) {
    if (!ctx.has_input(z.input)) continue;
    if (ctx.dtype(z.input) != ctx.dtype(z.data)) {
      ctx.invalid(std::string(z.name) + " is " + dtype_name(ctx.dtype(z.input)) + " but its operand is " + dtype_name(ctx.dtype(z.data)));
    }
    const Shape& zs = ctx.shape(z.input);
    if (zs.size() > 1 || (num_elements(zs) != 1 && num_elements(zs) != z.per_axis)) {
      ctx.invalid(std::string(z.name) + " has shape " + shape_string(zs) + "; it must hold 1 entry or one per " + z.what + " (" +
                  std::to_string(z.per_axis) + ")");
    }
  }
  return {{DType::kInt32, s.out}};
}

void eval_matmul_integer(const graph::Node&, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  int32_t* y = out[0].as<int32_t>();
  // Sums beyond int32 wrap, as the int32 accumulators of every implementation do.
  integer_matmul(in[kA], in[kB], {in, kAZero, kBZero},
                 [&](int64_t i, int64_t, int64_t, int64_t sum) { y[i] = static_cast<int32_t>(static_cast<uint32_t>(sum)); });
}

enum QLinearMatMulInput { kQA, kQAScale, kQAZero, kQB, kQBScale, kQBZero, kQYScale, kQYZero };

std::vector<TypeShape> infer_qlinear_matmul(const InferContext& ctx) {
  ctx.expect_inputs(8, 8);
  ctx.expect_dtype(kQA, {DType::kUint8, DType::kInt8});
  ctx.expect_dtype(kQB, {DType::kUint8, DType::kInt8});
  ctx.expect_dtype(kQYZero, {DType::kUint8, DType::kInt8});
  const MatMulShape s = matmul_shape(ctx.shape(kQA), ctx.shape(kQB));
  const int64_t rows = rows_of(ctx.shape(kQA));
  check_quant_params(ctx, {kQAScale, kQAZero, "a", ctx.dtype(kQA), false, rows, "row of a"});
  check_quant_params(ctx, {kQBScale, kQBZero, "b", ctx.dtype(kQB), false, columns_of(ctx.shape(kQB)), "column of b"});
  check_quant_params(ctx, {kQYScale, kQYZero, "y", ctx.dtype(kQYZero), false, rows, "row of y"});
  return {{ctx.dtype(kQYZero), s.out}};
}

// Entry `index` of a per-tensor or per-axis float parameter.
float entry(const TensorView& v, int64_t index) { return v.as<float>()[v.size() > 1 ? index : 0]; }

void eval_qlinear_matmul(const graph::Node&, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  const TensorView &a_scale = in[kQAScale], &b_scale = in[kQBScale], &y_scale = in[kQYScale], &y_zero = in[kQYZero];
  // The accumulator is rescaled in float, as QLinearConv's reference and onnxruntime do.
  integer_matmul(in[kQA], in[kQB], {in, kQAZero, kQBZero}, [&](int64_t i, int64_t row, int64_t col, int64_t sum) {
    const float real = static_cast<float>(sum) * (entry(a_scale, row) * entry(b_scale, col));
    store_quantized(out[0], i, real, entry(y_scale, row), integer_at(y_zero, y_zero.size() > 1 ? row : 0));
  });
}

}  // namespace

void register_integer_matmul_ops(std::vector<OpDef>& ops) {
  ops.push_back({"MatMulInteger", infer_matmul_integer, eval_matmul_integer});
  ops.push_back({"QLinearMatMul", infer_qlinear_matmul, eval_qlinear_matmul});
}

}  // namespace sparrow::ops
