// The oneDNN QuantizeLinear and DequantizeLinear rows against the reference: per-tensor, u8 and
// s8, zero points, on values between, on and beyond the grid.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>

#include "sparrow/engine.h"
#include "support/onnx_builder.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

using test::OnnxBuilder;

std::string kernel_of(const Engine& e, const std::string& op) {
  for (const LayerInfo& l : e.describe().layers) {
    if (l.op == op) return l.kernel;
  }
  return "none";
}

int byte_at(const Tensor& t, int64_t i) {
  return t.dtype() == DType::kUint8 ? t.data_as<uint8_t>()[i] : t.data_as<int8_t>()[i];
}

TEST(QuantizeKernels, QuantizeMatchesTheReferenceToOneStep) {
  for (DType type : {DType::kUint8, DType::kInt8}) {
    for (int zero : {0, 3, -7}) {
      OnnxBuilder b;
      b.input("x", DType::kFloat32, {2, 3, 17, 5});
      b.initializer("s", Tensor::scalar<float>(0.037f));
      b.initializer("z", type == DType::kUint8 ? Tensor::scalar<uint8_t>(static_cast<uint8_t>(std::abs(zero)))
                                               : Tensor::scalar<int8_t>(static_cast<int8_t>(zero)));
      b.node("QuantizeLinear", {"x", "s", "z"}, {"y"}).output("y", type);
      CompileOptions fast, slow;
      fast.kernels = "f32-quantize-onednn";
      slow.optimized_kernels = false;
      const Engine a = Engine::load_from_bytes(b.bytes(), fast), r = Engine::load_from_bytes(b.bytes(), slow);
      EXPECT_EQ(kernel_of(a, "QuantizeLinear").rfind("f32-quantize-onednn", 0), 0u) << kernel_of(a, "QuantizeLinear");
      const Tensor x = test::random_tensor({2, 3, 17, 5}, 3, -6, 6);  // beyond both ends of the grid
      const Tensor ya = a.run({x})[0], yr = r.run({x})[0];
      int worst = 0, saturated = 0;
      for (int64_t i = 0; i < ya.size(); ++i) {
        worst = std::max(worst, std::abs(byte_at(ya, i) - byte_at(yr, i)));
        const int lo = type == DType::kUint8 ? 0 : -128, hi = type == DType::kUint8 ? 255 : 127;
        saturated += byte_at(yr, i) == lo || byte_at(yr, i) == hi;
      }
      EXPECT_LE(worst, 1) << dtype_name(type) << " zero " << zero;
      EXPECT_GT(saturated, 0);
    }
  }
}

TEST(QuantizeKernels, DequantizeMatchesTheReference) {
  for (DType type : {DType::kUint8, DType::kInt8}) {
    OnnxBuilder b;
    b.input("q", type, {3, 256});
    b.initializer("s", Tensor::scalar<float>(0.5f));
    b.initializer("z", type == DType::kUint8 ? Tensor::scalar<uint8_t>(uint8_t{128}) : Tensor::scalar<int8_t>(int8_t{-3}));
    b.node("DequantizeLinear", {"q", "s", "z"}, {"y"}).output("y");
    CompileOptions fast, slow;
    slow.optimized_kernels = false;
    const Engine a = Engine::load_from_bytes(b.bytes(), fast), r = Engine::load_from_bytes(b.bytes(), slow);
    const std::string row = type == DType::kUint8 ? "qu8-dequantize-onednn" : "qs8-dequantize-onednn";
    EXPECT_EQ(kernel_of(a, "DequantizeLinear").rfind(row, 0), 0u) << kernel_of(a, "DequantizeLinear");
    Tensor q(type, {3, 256});
    for (int64_t i = 0; i < q.size(); ++i) static_cast<uint8_t*>(q.data())[i] = static_cast<uint8_t>(i);  // every value
    EXPECT_TRUE(test::all_close(a.run({q})[0], r.run({q})[0], 0, 0));
  }
}

}  // namespace
}  // namespace sparrow
