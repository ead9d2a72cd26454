// MatMul on float32 with numpy.matmul's broadcasting (ops/matmul_shape.h): what exporters
// write for fully connected layers, and half of the MatMul/Add and Cast/Mul patterns of
// dynamically quantized models.
#include "ops/matmul_shape.h"
#include "ops/op_families.h"

namespace sparrow::ops {
namespace {

std::vector<TypeShape> infer_matmul(const InferContext& ctx) {
  ctx.expect_inputs(2, 2);
  ctx.expect_dtype(0, {DType::kFloat32});
  ctx.expect_dtype(1, {DType::kFloat32});
  return {{DType::kFloat32, matmul_shape(ctx.shape(0), ctx.shape(1)).out}};
}

void eval_matmul(const graph::Node&, const std::vector<TensorView>& in, const std::vector<TensorView>& out) {
  const MatMulShape s = matmul_shape(in[0].shape, in[1].shape);
  const float* a = in[0].as<float>();
  const float* b = in[1].as<float>();
  float* y = out[0].as<float>();
  for_each_matrix(s, [&](int64_t ao, int64_t bo, int64_t yo) {
    for (int64_t i = 0; i < s.m; ++i) {
      for (int64_t j = 0; j < s.n; ++j) {
        float sum = 0;
        for (int64_t p = 0; p < s.k; ++p) sum += a[ao + i * s.k + p] * b[bo + p * s.n + j];
        y[yo + i * s.n + j] = sum;
      }
    }
  });
}

}  // namespace

void register_matmul_ops(std::vector<OpDef>& ops) { ops.push_back({"MatMul", infer_matmul, eval_matmul}); }

}  // namespace sparrow::ops
