// INT8 convolution: QDQ convs (DequantizeLinear -> Conv [-> activation] -> QuantizeLinear) become
// QLinearConv, and oneDNN's int8 kernel agrees with the integer reference to one step of the
// output grid over random geometry, groups, activations, zero points and per-channel scales.
// ctest runs this again under SPARROW_ISA=avx2 and =scalar (oneDNN's AVX2 and SSE4.1 paths).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <set>

#include "sparrow/engine.h"
#include "support/onnx_builder.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

using test::Attr;
using test::OnnxBuilder;

int64_t pick(std::mt19937_64& rng, int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); }

struct QdqConv {
  std::string bytes;
  Tensor input;
  std::string what;
};

// `unfused` also makes the conv's float output a graph output, which keeps the passes from fusing
// the QuantizeLinear into it.
QdqConv random_qdq_conv(uint64_t seed, bool unfused = false) {
  std::mt19937_64 rng(seed);
  const int64_t groups = pick(rng, 0, 3) == 0 ? pick(rng, 2, 4) : 1;
  const int64_t cin = groups * pick(rng, 1, 12), cout = groups * pick(rng, 1, 12);
  const int64_t k = std::vector<int64_t>{1, 3, 3, 5}[pick(rng, 0, 3)], stride = pick(rng, 1, 2), pad = pick(rng, 0, k / 2);
  const int64_t h = pick(rng, k, 14), w = pick(rng, k, 14);
  const bool per_channel = pick(rng, 0, 1) == 1, bias = pick(rng, 0, 3) != 0;
  const char* act = std::vector<const char*>{"", "Relu", "Sigmoid", "Silu"}[pick(rng, 0, 3)];
  const uint8_t x_zero = static_cast<uint8_t>(pick(rng, 0, 1) ? pick(rng, 0, 255) : 0);
  const uint8_t y_zero = static_cast<uint8_t>(pick(rng, 0, 1) ? pick(rng, 0, 255) : 0);

  OnnxBuilder b;
  b.input("x", DType::kUint8, {1, cin, h, w});
  b.initializer("x_scale", Tensor::scalar<float>(0.02f)).initializer("x_zero", Tensor::scalar<uint8_t>(x_zero));
  // Every third model has 7-bit weights, which CPUs without VNNI can run on the int8 kernel too.
  const int64_t w_max = seed % 3 == 0 ? 63 : 127;
  Tensor wq(DType::kInt8, {cout, cin / groups, k, k});
  for (int64_t i = 0; i < wq.size(); ++i) wq.data_as<int8_t>()[i] = static_cast<int8_t>(pick(rng, -w_max, w_max));
  std::vector<float> w_scales(per_channel ? cout : 1);
  for (float& s : w_scales) s = 0.001f * static_cast<float>(pick(rng, 1, 20));
  b.initializer("w_q", wq).initializer("w_scale", Tensor::from_vector<float>(per_channel ? Shape{cout} : Shape{}, w_scales));
  b.initializer("w_zero", Tensor(DType::kInt8, per_channel ? Shape{cout} : Shape{}));
  b.initializer("y_scale", Tensor::scalar<float>(0.03f)).initializer("y_zero", Tensor::scalar<uint8_t>(y_zero));
  b.node("DequantizeLinear", {"x", "x_scale", "x_zero"}, {"xf"});
  b.node("DequantizeLinear", {"w_q", "w_scale", "w_zero"}, {"wf"}, {Attr::Int("axis", 0)});
  std::vector<std::string> conv_inputs = {"xf", "wf"};
  if (bias) {
    b.initializer("b", test::random_tensor({cout}, seed + 1));
    conv_inputs.push_back("b");
  }
  b.node("Conv", conv_inputs, {"c"},
         {Attr::Ints("kernel_shape", {k, k}), Attr::Ints("strides", {stride, stride}),
          Attr::Ints("pads", {pad, pad, pad, pad}), Attr::Int("group", groups)});
  std::string last = "c";
  if (std::string(act) == "Silu") {
    b.node("Sigmoid", {"c"}, {"s"}).node("Mul", {"c", "s"}, {"a"});
    last = "a";
  } else if (*act) {
    b.node(act, {"c"}, {"a"});
    last = "a";
  }
  b.node("QuantizeLinear", {last, "y_scale", "y_zero"}, {"y"}).output("y", DType::kUint8);
  if (unfused) b.output("c");

  Tensor x(DType::kUint8, {1, cin, h, w});
  for (int64_t i = 0; i < x.size(); ++i) x.data_as<uint8_t>()[i] = static_cast<uint8_t>(pick(rng, 0, 255));
  const std::string what = "seed " + std::to_string(seed) + " cin=" + std::to_string(cin) + " cout=" + std::to_string(cout) +
                           " k=" + std::to_string(k) + " s=" + std::to_string(stride) + " p=" + std::to_string(pad) +
                           " g=" + std::to_string(groups) + (per_channel ? " per-channel" : "") + (bias ? " bias" : "") +
                           " act=" + act + " x_zero=" + std::to_string(x_zero) + " y_zero=" + std::to_string(y_zero);
  return {b.bytes(), x, what};
}

std::string conv_kernel(const Engine& e) {
  for (const LayerInfo& l : e.describe().layers) {
    if (l.op.rfind("QLinearConv", 0) == 0) return l.kernel;
  }
  return "no QLinearConv layer";
}

// Under a forced ISA without VNNI the kernel declines models whose products could saturate, and
// oneDNN has only its reference for some (grouped, with a source zero point): those run on
// Sparrow's reference, and some must still run on the int8 kernel.
TEST(QLinearConv, QdqConvsRunOnTheInt8KernelBitExactToTheReference) {
  const bool forced_isa = std::getenv("SPARROW_ISA") != nullptr;
  int on_int8_kernel = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    const QdqConv c = random_qdq_conv(seed);
    SCOPED_TRACE(c.what);
    CompileOptions fast, slow;
    fast.kernels = "qu8-conv-onednn";
    slow.optimized_kernels = false;
    const Engine optimized = Engine::load_from_bytes(c.bytes, fast);
    const Engine reference = Engine::load_from_bytes(c.bytes, slow);
    const bool int8 = conv_kernel(optimized).rfind("qu8-conv-onednn:", 0) == 0;
    on_int8_kernel += int8;
    if (!forced_isa) {
      EXPECT_TRUE(int8) << conv_kernel(optimized);
    }
    EXPECT_EQ(conv_kernel(reference), "reference");
    const Tensor a = optimized.run({c.input})[0], b = reference.run({c.input})[0];
    ASSERT_EQ(a.dtype(), DType::kUint8);
    int worst = 0;
    std::set<int> values;
    for (int64_t i = 0; i < a.size(); ++i) {
      worst = std::max(worst, std::abs(a.data_as<uint8_t>()[i] - b.data_as<uint8_t>()[i]));
      values.insert(b.data_as<uint8_t>()[i]);
    }
    EXPECT_EQ(worst, 0);
    // Not a comparison of saturated outputs.
    if (a.size() >= 64) {
      EXPECT_GE(values.size(), 8u);
    }
  }
  EXPECT_GE(on_int8_kernel, 5);
}

// Where oneDNN's INT8 conv declines dense 8-bit weights (a CPU without VNNI: SPARROW_ISA=avx2
// or scalar), the sparse rows, which predict a loss to it and decline at first, take the conv as
// a last resort, bit-exact, rather than leave it to the reference kernel.
TEST(QLinearConv, ASparseRowTakesDenseWeightsTheDenseRowDeclines) {
  int taken = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    const QdqConv c = random_qdq_conv(seed);
    if (c.what.find(" g=1 ") == std::string::npos || c.what.find(" act= ") == std::string::npos) continue;
    SCOPED_TRACE(c.what);
    CompileOptions dense_only, slow;
    dense_only.kernels = "qu8-conv-onednn";
    slow.optimized_kernels = false;
    if (conv_kernel(Engine::load_from_bytes(c.bytes, dense_only)) != "reference") continue;
    const Engine chosen = Engine::load_from_bytes(c.bytes);
    EXPECT_EQ(conv_kernel(chosen).rfind("sparse-conv-u8s8-", 0), 0u) << conv_kernel(chosen);
    const Tensor a = chosen.run({c.input})[0], b = Engine::load_from_bytes(c.bytes, slow).run({c.input})[0];
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.bytes()), 0);
    ++taken;
  }
  const char* isa = std::getenv("SPARROW_ISA");
  if (isa && (std::string(isa) == "avx2" || std::string(isa) == "scalar")) {
    EXPECT_GE(taken, 3);
  }
}

// Unfused, the same model computes in float on fake-quantised values: the fused integer path
// must give the same bytes to one step.
TEST(QLinearConv, FusionKeepsTheModelsMeaning) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    const QdqConv fused = random_qdq_conv(seed), unfused = random_qdq_conv(seed, true);
    SCOPED_TRACE(fused.what);
    const Engine a = Engine::load_from_bytes(fused.bytes), b = Engine::load_from_bytes(unfused.bytes);
    EXPECT_NE(conv_kernel(a), "no QLinearConv layer") << "the QDQ conv was not fused";
    // Its float output is read, so the conv keeps a float output (kFloatOutputAttr) and the
    // QuantizeLinear stays a layer of its own.
    bool separate_quantize = false;
    for (const LayerInfo& l : b.describe().layers) separate_quantize |= l.op == "QuantizeLinear";
    EXPECT_TRUE(separate_quantize) << "a conv whose float output is read was fused with its QuantizeLinear";
    const Tensor ya = a.run({fused.input})[0], yb = b.run({unfused.input})[0];
    for (int64_t i = 0; i < ya.size(); ++i) ASSERT_LE(std::abs(ya.data_as<uint8_t>()[i] - yb.data_as<uint8_t>()[i]), 1) << i;
  }
}

// DQ(u8 x) -> Conv (s8 weights per channel, float bias) -> Sigmoid -> float output, as YOLOv5's
// Detect convs read the network in a QDQ file: one QLinearConv that reads the integers and gives
// the float result (kFloatOutputAttr), with no float copy of x, equal within float rounding to
// the float conv of the dequantized values.
TEST(QLinearConv, AFloatOutputConvReadsTheIntegers) {
  std::mt19937_64 rng(7);
  const int64_t cin = 8, cout = 16;
  Tensor xq(DType::kUint8, {1, cin, 10, 10}), wq(DType::kInt8, {cout, cin, 3, 3});
  for (int64_t i = 0; i < xq.size(); ++i) xq.data_as<uint8_t>()[i] = static_cast<uint8_t>(pick(rng, 0, 255));
  for (int64_t i = 0; i < wq.size(); ++i) wq.data_as<int8_t>()[i] = static_cast<int8_t>(pick(rng, -127, 127));
  std::vector<float> w_scales(cout), wf(static_cast<size_t>(wq.size()));
  for (float& v : w_scales) v = 0.001f * static_cast<float>(pick(rng, 1, 9));
  for (int64_t i = 0; i < wq.size(); ++i) wf[i] = wq.data_as<int8_t>()[i] * w_scales[i / (cin * 9)];
  const Tensor bias = test::random_tensor({cout}, 3);
  const float x_scale = 0.02f;
  const uint8_t x_zero = 10;
  Tensor xf(DType::kFloat32, xq.shape());
  for (int64_t i = 0; i < xq.size(); ++i) xf.data_as<float>()[i] = (xq.data_as<uint8_t>()[i] - x_zero) * x_scale;

  const auto conv = [&](OnnxBuilder& b, const std::string& x, const std::string& w) {
    b.initializer("b", bias).node("Conv", {x, w, "b"}, {"c"}, {Attr::Ints("kernel_shape", {3, 3}), Attr::Ints("pads", {1, 1, 1, 1})});
    b.node("Sigmoid", {"c"}, {"y"}).output("y");
  };
  OnnxBuilder q(13);
  q.input("xq", DType::kUint8, xq.shape());
  q.initializer("xs", Tensor::scalar<float>(x_scale)).initializer("xz", Tensor::scalar<uint8_t>(x_zero));
  q.initializer("wq", wq).initializer("ws", Tensor::from_vector<float>({cout}, w_scales)).initializer("wz", Tensor(DType::kInt8, {cout}));
  q.node("DequantizeLinear", {"xq", "xs", "xz"}, {"x"}).node("DequantizeLinear", {"wq", "ws", "wz"}, {"w"}, {Attr::Int("axis", 0)});
  conv(q, "x", "w");
  OnnxBuilder f(13);
  f.input("x", DType::kFloat32, xf.shape()).initializer("w", Tensor::from_vector<float>(wq.shape(), wf));
  conv(f, "x", "w");

  const Engine fused = Engine::load_from_bytes(q.bytes());
  std::vector<std::string> ops;
  std::string kernel;
  for (const LayerInfo& l : fused.describe().layers) {
    ops.push_back(l.op);
    if (l.op == "QLinearConv+Sigmoid") kernel = l.kernel;
  }
  if (std::getenv("SPARROW_ISA") == nullptr) {
    EXPECT_EQ(kernel.rfind("qu8-f32-conv-onednn:", 0), 0u) << kernel;
  }
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "QLinearConv+Sigmoid"), 1);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "DequantizeLinear"), 0);
  EXPECT_EQ(std::count(ops.begin(), ops.end(), "Conv+Sigmoid"), 0);
  const Tensor expected = Engine::load_from_bytes(f.bytes()).run({xf})[0];
  const Tensor got = fused.run({xq})[0];
  ASSERT_EQ(got.dtype(), DType::kFloat32);
  EXPECT_TRUE(test::all_close(got, expected, 1e-5, 1e-5));
  CompileOptions reference;
  reference.optimized_kernels = false;
  EXPECT_TRUE(test::all_close(Engine::load_from_bytes(q.bytes(), reference).run({xq})[0], expected, 1e-5, 1e-5));
}

}  // namespace
}  // namespace sparrow
