// f32-spconv variants against the plain reference convolution (within 1e-5 of the sum of the
// products' magnitudes: outputs near zero make a plain relative test meaningless), over random
// shapes, sparsities, block structures, empty rows, activations, residuals and batches, on every
// variant this process may run; and through the engine against the dense oneDNN row. ctest runs
// this again under each SPARROW_ISA, where the richer variants are skipped.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <tuple>
#include <vector>

#include "kernels/f32_spconv.h"
#include "kernels/f32_spconv_jit.h"
#include "sparrow/engine.h"
#include "support/onnx_builder.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

using kernels::F32SpconvShape;
using kernels::F32SpconvVariant;

struct Case {
  F32SpconvShape s;
  double sparsity = 0.5;
  bool blocks = false;     // zeros in 4x1 blocks (4 input channels)
  int empty_rows = 0;      // output channels with no weight at all
  ops::Activation act = ops::Activation::kNone;
  bool residual = false;
  bool bias = true;

  std::string str() const {
    std::ostringstream o;
    o << "n" << s.n << " ic" << s.ic << " " << s.h << "x" << s.w << " oc" << s.oc << " k" << s.kh << "x" << s.kw << " s"
      << s.sh << "x" << s.sw << " p" << s.pad_top << "," << s.pad_left << " out " << s.oh << "x" << s.ow << " sparsity "
      << sparsity << (blocks ? " 4-blocks" : "") << " empty " << empty_rows << " act " << static_cast<int>(act)
      << (residual ? " residual" : "");
    return o.str();
  }
};

// Output size for the given end padding.
F32SpconvShape shape(int64_t n, int64_t ic, int64_t h, int64_t w, int64_t oc, int64_t k, int64_t stride, int64_t pad,
                     int64_t pad_end) {
  F32SpconvShape s{n, ic, h, w, oc, k, k, stride, stride, pad, pad, 0, 0};
  s.oh = (h + pad + pad_end - k) / stride + 1;
  s.ow = (w + pad + pad_end - k) / stride + 1;
  return s;
}

// OIHW weights in [-1, 1) with `sparsity` of them (or of their 4x1 blocks) zero, and the first
// `empty_rows` output channels all zero.
std::vector<float> pruned_weights(const Case& c, std::mt19937& rng) {
  const F32SpconvShape& s = c.s;
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  std::uniform_real_distribution<double> keep(0.0, 1.0);
  std::vector<float> w(static_cast<size_t>(s.oc * s.ic * s.kh * s.kw));
  for (float& v : w) v = value(rng);
  const int64_t kvol = s.kh * s.kw;
  for (int64_t oc = 0; oc < s.oc; ++oc) {
    for (int64_t t = 0; t < kvol; ++t) {
      for (int64_t c0 = 0; c0 < s.ic; c0 += c.blocks ? 4 : 1) {
        const bool zero_block = keep(rng) < c.sparsity;
        for (int64_t ci = c0; ci < std::min(s.ic, c0 + (c.blocks ? 4 : 1)); ++ci) {
          if (zero_block || oc < c.empty_rows) w[static_cast<size_t>((oc * s.ic + ci) * kvol + t)] = 0.0f;
        }
      }
    }
  }
  return w;
}

std::vector<float> random_values(size_t n, std::mt19937& rng, float range) {
  std::uniform_real_distribution<float> value(-range, range);
  std::vector<float> v(n);
  for (float& x : v) x = value(rng);
  return v;
}

// NHWC data of n images, h x w pixels of c channels, as NCHW.
std::vector<float> to_nchw(const std::vector<float>& nhwc, int64_t n, int64_t hw, int64_t c) {
  std::vector<float> out(nhwc.size());
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t p = 0; p < hw; ++p) {
      for (int64_t k = 0; k < c; ++k) out[static_cast<size_t>((i * c + k) * hw + p)] = nhwc[static_cast<size_t>((i * hw + p) * c + k)];
    }
  }
  return out;
}

// The layouts a variant runs the case in: NHWC, a planar output where it has a planar store, and
// a planar input where the conv reads it in place.
std::vector<kernels::F32SpconvLayouts> layouts_of(const F32SpconvVariant& v, const F32SpconvShape& s) {
  std::vector<kernels::F32SpconvLayouts> all = {{false, false}};
  const bool in = kernels::f32_spconv_reads_in_place(s, v.tile);
  if (in) all.push_back({true, false});
  if (v.store_planar) all.push_back({false, true});
  if (v.store_planar && in) all.push_back({true, true});
  return all;
}

std::string layouts_name(kernels::F32SpconvLayouts l) {
  return std::string(l.planar_in ? "nchw" : "nhwc") + "->" + (l.planar_out ? "nchw" : "nhwc");
}

void check_variant(const F32SpconvVariant& v, const Case& c, uint32_t seed, kernels::F32SpconvLayouts layouts = {}) {
  const F32SpconvShape& s = c.s;
  std::mt19937 rng(seed);
  const std::vector<float> w = pruned_weights(c, rng);
  const std::vector<float> x = random_values(static_cast<size_t>(s.n * s.h * s.w * s.ic), rng, 2.0f);
  const std::vector<float> bias = random_values(static_cast<size_t>(s.oc), rng, 1.0f);
  const size_t out_size = static_cast<size_t>(s.n * s.oh * s.ow * s.oc);
  const std::vector<float> residual = c.residual ? random_values(out_size, rng, 1.0f) : std::vector<float>(out_size, 0.0f);

  std::vector<float> expected = residual;
  kernels::f32_spconv_reference(s, x.data(), w.data(), c.bias ? bias.data() : nullptr, c.act, c.residual, expected.data());
  // Magnitude of each output's terms: |x| * |w| summed, plus |bias| and |residual|.
  std::vector<float> abs_x(x.size()), abs_w(w.size()), abs_b(bias.size());
  std::transform(x.begin(), x.end(), abs_x.begin(), [](float f) { return std::fabs(f); });
  std::transform(w.begin(), w.end(), abs_w.begin(), [](float f) { return std::fabs(f); });
  std::transform(bias.begin(), bias.end(), abs_b.begin(), [](float f) { return std::fabs(f); });
  std::vector<float> magnitude(out_size);
  std::transform(residual.begin(), residual.end(), magnitude.begin(), [](float f) { return std::fabs(f); });
  kernels::f32_spconv_reference(s, abs_x.data(), abs_w.data(), c.bias ? abs_b.data() : nullptr, ops::Activation::kNone,
                                true, magnitude.data());

  const int64_t in_pixels = s.h * s.w, out_pixels = s.oh * s.ow;
  const std::vector<float> x_in = layouts.planar_in ? to_nchw(x, s.n, in_pixels, s.ic) : x;
  if (layouts.planar_out) {
    expected = to_nchw(expected, s.n, out_pixels, s.oc);
    magnitude = to_nchw(magnitude, s.n, out_pixels, s.oc);
  }
  const std::vector<float> residual_out = layouts.planar_out ? to_nchw(residual, s.n, out_pixels, s.oc) : residual;
  const int slots = 2;
  const kernels::F32Spconv conv(s, w.data(), c.bias ? bias.data() : nullptr, c.act, v, slots, layouts);
  std::vector<float> scratch((slots * conv.scratch_bytes_per_slot() + 128) / sizeof(float), 0.0f);
  void* aligned = scratch.data();
  size_t space = scratch.size() * sizeof(float);
  ASSERT_NE(std::align(64, slots * conv.scratch_bytes_per_slot(), aligned, space), nullptr);
  // Twice, so that stale panel contents from the first run meet the second.
  for (int run = 0; run < 2; ++run) {
    std::vector<float> got = residual_out;
    got.push_back(12345.0f);  // a canary past the end
    conv.run(x_in.data(), got.data(), c.residual, aligned, slots);
    ASSERT_EQ(got.back(), 12345.0f) << v.name << " wrote past the output: " << c.str() << " " << layouts_name(layouts);
    for (size_t i = 0; i < out_size; ++i) {
      const double tolerance = 1e-5 * (static_cast<double>(magnitude[i]) + 1e-3);
      ASSERT_NEAR(got[i], expected[i], tolerance)
          << v.name << " " << c.str() << " " << layouts_name(layouts) << " at " << i << " run " << run << " ["
          << conv.summary() << "]";
    }
  }
}

std::vector<Case> yolo_cases() {
  using ops::Activation;
  std::vector<Case> cases;
  // The YOLOv5 families, small: 1x1; 3x3 s1 and s2 pad 1; 6x6 s2 pad 2 (ic 3); at several
  // sparsities, in both structures, with SiLU and the residual.
  for (double sp : {0.0, 0.5, 0.85, 0.99}) {
    for (bool blocks : {false, true}) {
      cases.push_back({shape(1, 32, 9, 11, 40, 1, 1, 0, 0), sp, blocks, 3, Activation::kSilu, false});
      cases.push_back({shape(1, 24, 13, 10, 20, 3, 1, 1, 1), sp, blocks, 1, Activation::kSilu, true});
      cases.push_back({shape(1, 20, 15, 12, 33, 3, 2, 1, 1), sp, blocks, 0, Activation::kRelu, false});
      cases.push_back({shape(2, 3, 22, 18, 16, 6, 2, 2, 2), sp, blocks, 2, Activation::kSilu, false});
    }
  }
  // Wider than one row block (64) and one channel chunk, batch 2, residual.
  cases.push_back({shape(2, 150, 7, 9, 130, 3, 1, 1, 1), 0.9, false, 5, Activation::kSilu, true});
  cases.push_back({shape(1, 600, 5, 6, 70, 1, 1, 0, 0), 0.9, true, 5, Activation::kSigmoid, true});
  // 1x1 on whole tiles of 16 positions (80 and 240 per image), which a planar input feeds in
  // place, with bands of several rows.
  cases.push_back({shape(2, 32, 8, 10, 40, 1, 1, 0, 0), 0.85, false, 1, Activation::kSilu, true});
  cases.push_back({shape(1, 64, 12, 20, 70, 1, 1, 0, 0), 0.85, true, 0, Activation::kSilu, false});
  // Everything zero: bias only.
  cases.push_back({shape(1, 8, 5, 5, 8, 3, 1, 1, 1), 1.0, false, 0, Activation::kSilu, true});
  // A single output channel, a 1x1 image.
  cases.push_back({shape(1, 5, 1, 1, 1, 1, 1, 0, 0), 0.3, false, 0, Activation::kNone, false});
  return cases;
}

// Random geometry: odd sizes, channel counts not divisible by 4 or the tile, kernels 1 to 6,
// strides 1 to 3, paddings up to k-1 (the end padding independently), no bias sometimes.
std::vector<Case> random_cases(int count) {
  std::mt19937 rng(7);
  auto pick = [&](int lo, int hi) { return static_cast<int64_t>(std::uniform_int_distribution<int>(lo, hi)(rng)); };
  const double sparsities[] = {0.0, 0.3, 0.5, 0.7, 0.9, 0.99, 1.0};
  std::vector<Case> cases;
  while (static_cast<int>(cases.size()) < count) {
    const int64_t k = pick(1, 6), stride = pick(1, 3), pad = pick(0, static_cast<int>(k) - 1);
    const int64_t pad_end = pick(0, static_cast<int>(k) - 1);
    const int64_t h = pick(1, 23), w = pick(1, 23);
    if (h + pad + pad_end < k || w + pad + pad_end < k) continue;
    Case c{shape(pick(1, 2), pick(1, 67), h, w, pick(1, 70), k, stride, pad, pad_end)};
    c.sparsity = sparsities[pick(0, 6)];
    c.blocks = pick(0, 1) == 1;
    c.empty_rows = static_cast<int>(pick(0, 3));
    c.act = static_cast<ops::Activation>(pick(0, 3));
    c.residual = pick(0, 1) == 1;
    c.bias = pick(0, 3) != 0;
    cases.push_back(c);
  }
  return cases;
}

class F32Spconv : public ::testing::TestWithParam<F32SpconvVariant> {};

TEST_P(F32Spconv, MatchesTheReferenceOnYoloShapes) {
  const F32SpconvVariant& v = GetParam();
  if (!kernels::isa_available(v.isa)) GTEST_SKIP() << v.name << ": this process has no " << kernels::isa_name(v.isa);
  uint32_t seed = 1;
  for (const Case& c : yolo_cases()) {
    ++seed;
    for (const kernels::F32SpconvLayouts layouts : layouts_of(v, c.s)) check_variant(v, c, seed, layouts);
  }
}

TEST_P(F32Spconv, MatchesTheReferenceOnRandomShapes) {
  const F32SpconvVariant& v = GetParam();
  if (!kernels::isa_available(v.isa)) GTEST_SKIP() << v.name << ": this process has no " << kernels::isa_name(v.isa);
  uint32_t seed = 100;
  for (const Case& c : random_cases(60)) {
    ++seed;
    for (const kernels::F32SpconvLayouts layouts : layouts_of(v, c.s)) check_variant(v, c, seed, layouts);
  }
}

// A planar input is read in place only by 1x1 stride-1 convs on whole tiles whose channels do not
// alias in L1; the others decline it.
TEST_P(F32Spconv, ReadsAPlanarInputInPlaceOnlyWhereItCan) {
  const F32SpconvVariant& v = GetParam();
  const int64_t tile = static_cast<int64_t>(v.tile);
  EXPECT_EQ(kernels::f32_spconv_reads_in_place(shape(1, 64, 20, 20, 64, 1, 1, 0, 0), v.tile), 400 % tile == 0);
  EXPECT_TRUE(kernels::f32_spconv_reads_in_place(shape(2, 64, 8, 8, 64, 1, 1, 0, 0), v.tile));
  EXPECT_FALSE(kernels::f32_spconv_reads_in_place(shape(1, 64, 20, 20, 64, 3, 1, 1, 1), v.tile));
  EXPECT_FALSE(kernels::f32_spconv_reads_in_place(shape(1, 64, 32, 32, 64, 1, 1, 0, 0), v.tile));  // 4 KB apart
  EXPECT_FALSE(kernels::f32_spconv_reads_in_place(shape(1, 62, 20, 20, 64, 1, 1, 0, 0), v.tile));  // partial 4-group
  EXPECT_FALSE(kernels::f32_spconv_reads_in_place(shape(1, 64, 5, 5, 64, 1, 1, 0, 0), v.tile));    // a partial tile
  const std::vector<float> w(64 * 64 * 9, 0.5f);
  EXPECT_THROW(kernels::F32Spconv(shape(1, 64, 20, 20, 64, 3, 1, 1, 1), w.data(), nullptr, ops::Activation::kNone, v, 2, {true, false}),
               Error);
}

// A variant without a planar store declines a planar output.
TEST_P(F32Spconv, DeclinesAPlanarOutputWithoutAPlanarStore) {
  const F32SpconvVariant& v = GetParam();
  if (v.store_planar) GTEST_SKIP() << v.name << " writes planar outputs";
  const std::vector<float> w(16 * 16, 0.5f);
  EXPECT_THROW(kernels::F32Spconv(shape(1, 16, 4, 4, 16, 1, 1, 0, 0), w.data(), nullptr, ops::Activation::kNone, v, 2, {false, true}),
               Error);
}

TEST_P(F32Spconv, RunsOnOneThreadAsOnTwo) {
  const F32SpconvVariant& v = GetParam();
  if (!kernels::isa_available(v.isa)) GTEST_SKIP() << v.name << ": this process has no " << kernels::isa_name(v.isa);
  // One slot caps the team at one thread; the split is the same, so the bytes are too.
  const F32SpconvShape s = shape(1, 40, 20, 20, 96, 3, 1, 1, 1);
  std::mt19937 rng(5);
  const std::vector<float> w = pruned_weights({s, 0.8}, rng);
  const std::vector<float> x = random_values(static_cast<size_t>(s.h * s.w * s.ic), rng, 1.0f);
  const kernels::F32Spconv conv(s, w.data(), nullptr, ops::Activation::kSilu, v, 2);
  std::vector<float> scratch(2 * conv.scratch_bytes_per_slot() / sizeof(float) + 64, 0.0f);
  void* aligned = scratch.data();
  size_t space = scratch.size() * sizeof(float);
  ASSERT_NE(std::align(64, 2 * conv.scratch_bytes_per_slot(), aligned, space), nullptr);
  std::vector<float> one(static_cast<size_t>(s.oh * s.ow * s.oc)), two(one.size());
  conv.run(x.data(), one.data(), false, aligned, 1);
  conv.run(x.data(), two.data(), false, aligned, 2);
  EXPECT_EQ(one, two);
}

// Into a channel slice of a wider NHWC tensor (a Concat's, written in place): the slice holds
// what the plain output holds, and every float around it is untouched.
TEST_P(F32Spconv, WritesIntoAChannelSliceOfAWiderTensor) {
  const F32SpconvVariant& v = GetParam();
  if (!kernels::isa_available(v.isa)) GTEST_SKIP() << v.name << ": this process has no " << kernels::isa_name(v.isa);
  for (const auto& [s, stride, first] : {std::tuple{shape(2, 40, 13, 11, 37, 3, 1, 1, 1), int64_t{64}, int64_t{20}},
                                         std::tuple{shape(1, 24, 16, 16, 64, 1, 1, 0, 0), int64_t{128}, int64_t{64}},
                                         std::tuple{shape(1, 32, 20, 20, 48, 3, 2, 1, 1), int64_t{51}, int64_t{0}}}) {
    SCOPED_TRACE("oc " + std::to_string(s.oc) + " stride " + std::to_string(stride) + " first " + std::to_string(first));
    std::mt19937 rng(9);
    const std::vector<float> w = pruned_weights({s, 0.8}, rng);
    const std::vector<float> x = random_values(static_cast<size_t>(s.n * s.h * s.w * s.ic), rng, 1.0f);
    kernels::F32Spconv conv(s, w.data(), nullptr, ops::Activation::kSilu, v, 2);
    std::vector<float> scratch(2 * conv.scratch_bytes_per_slot() / sizeof(float) + 64, 0.0f);
    void* aligned = scratch.data();
    size_t space = scratch.size() * sizeof(float);
    ASSERT_NE(std::align(64, 2 * conv.scratch_bytes_per_slot(), aligned, space), nullptr);
    const int64_t pixels = s.n * s.oh * s.ow;
    std::vector<float> plain(static_cast<size_t>(pixels * s.oc)), wide(static_cast<size_t>(pixels * stride), -7.0f);
    conv.run(x.data(), plain.data(), false, aligned, 2);
    conv.set_output_stride(stride);
    conv.run(x.data(), wide.data() + first, false, aligned, 2);
    for (int64_t p = 0; p < pixels; ++p) {
      for (int64_t k = 0; k < stride; ++k) {
        const float got = wide[static_cast<size_t>(p * stride + k)];
        if (k >= first && k < first + s.oc) {
          ASSERT_EQ(got, plain[static_cast<size_t>(p * s.oc + k - first)]) << "pixel " << p << " channel " << k - first;
        } else {
          ASSERT_EQ(got, -7.0f) << "pixel " << p << " float " << k << " lies outside the slice";
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, F32Spconv, ::testing::ValuesIn(kernels::f32_spconv_variants()),
                         [](const ::testing::TestParamInfo<F32SpconvVariant>& p) {
                           std::string name = p.param.name;
                           for (char& ch : name) ch = ch == '-' ? '_' : ch;
                           return name;
                         });

TEST(F32SpconvProfile, CountsZerosAndZeroBlocks) {
  const F32SpconvShape s = shape(1, 6, 3, 3, 2, 1, 1, 0, 0);  // 2 rows x 6 channels: blocks of 4 + 2
  const std::vector<float> w = {0, 0, 0, 0, 1, 0,   // block 0 zero, block 1 not
                                0, 2, 0, 0, 0, 0};  // block 0 not, block 1 zero
  const kernels::F32SparsityProfile p = kernels::f32_sparsity_profile(s, w.data());
  EXPECT_DOUBLE_EQ(p.element, 10.0 / 12.0);
  EXPECT_DOUBLE_EQ(p.block4, 2.0 / 4.0);
}

const F32SpconvVariant* jit_variant() {
  for (const F32SpconvVariant& v : kernels::f32_spconv_variants()) {
    if (v.jit) return &v;
  }
  return nullptr;
}

// A layer whose code would exceed the cap is declined with the reason, before any code exists:
// 4096 -> 1024 channels at 60 % sparsity is 1.7 M non-zeros, ~18 MB of code and weights.
TEST(F32SpconvJit, DeclinesCodeBeyondItsCap) {
  const F32SpconvVariant* v = jit_variant();
  ASSERT_NE(v, nullptr);
  if (!kernels::isa_available(v->isa)) GTEST_SKIP() << v->name << ": this process has no " << kernels::isa_name(v->isa);
  const F32SpconvShape s = shape(1, 4096, 1, 1, 1024, 1, 1, 0, 0);
  std::mt19937 rng(3);
  const std::vector<float> w = pruned_weights({s, 0.6}, rng);
  try {
    const kernels::F32Spconv conv(s, w.data(), nullptr, ops::Activation::kNone, *v, 2);
    FAIL() << "accepted " << conv.summary();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kResourceExhausted) << e.what();
    EXPECT_NE(std::string(e.what()).find(" KB, above 8192 KB"), std::string::npos) << e.what();
  }
  // The same layer at 95 % fits.
  const std::vector<float> sparse = pruned_weights({s, 0.95}, rng);
  const kernels::F32Spconv conv(s, sparse.data(), nullptr, ops::Activation::kNone, *v, 2);
  EXPECT_NE(conv.summary().find(":code"), std::string::npos) << conv.summary();
}

// Through kernels::F32Spconv the JIT code runs its channels in blocks of register groups over the
// tiles of a band, and chunks of input channels one after the other: a layer with several of both
// (summary "chunkN" and "blocksN", N > 1) matches too.
TEST(F32SpconvJit, MatchesTheReferenceInSeveralCodeBlocks) {
  const F32SpconvVariant* v = jit_variant();
  ASSERT_NE(v, nullptr);
  if (!kernels::isa_available(v->isa)) GTEST_SKIP() << v->name << ": this process has no " << kernels::isa_name(v->isa);
  for (bool blocks : {false, true}) {
    const Case c{shape(2, 256, 6, 7, 250, 3, 1, 1, 1), 0.7, blocks, 4, ops::Activation::kSilu, true};
    std::mt19937 rng(9);
    const std::vector<float> w = pruned_weights(c, rng);
    const kernels::F32Spconv conv(c.s, w.data(), nullptr, c.act, *v, 2);
    const std::string summary = conv.summary();
    ASSERT_EQ(summary.find(":blocks1"), std::string::npos) << summary;
    ASSERT_EQ(summary.find(":chunk1:"), std::string::npos) << summary;
    check_variant(*v, c, 77);
  }
}

// ----- Through the engine -------------------------------------------------------------------

// x -> Conv (pruned weights, bias) -> SiLU -> [+ r] -> Conv 1x1 (dense) -> y: the sparse layer
// between dense ones, fused with SiLU and the residual.
std::string model(const F32SpconvShape& s, double sparsity, bool blocks, bool residual) {
  Case c{s, sparsity, blocks, 1};
  std::mt19937 rng(11);
  const std::vector<float> w = pruned_weights(c, rng);
  test::OnnxBuilder b;
  b.input("x", DType::kFloat32, {s.n, s.ic, s.h, s.w});
  b.initializer("w", Tensor::from_vector<float>({s.oc, s.ic, s.kh, s.kw}, w));
  b.initializer("b", test::random_tensor({s.oc}, 3));
  b.initializer("w2", test::random_tensor({8, s.oc, 1, 1}, 4));
  b.node("Conv", {"x", "w", "b"}, {"c"},
         {test::Attr::Ints("kernel_shape", {s.kh, s.kw}), test::Attr::Ints("strides", {s.sh, s.sw}),
          test::Attr::Ints("pads", {s.pad_top, s.pad_left, s.pad_top, s.pad_left})});
  b.node("Sigmoid", {"c"}, {"sg"}).node("Mul", {"c", "sg"}, {"a"});
  std::string last = "a";
  if (residual) {
    b.input("r", DType::kFloat32, {s.n, s.oc, s.oh, s.ow});
    b.node("Add", {"a", "r"}, {"ar"});
    last = "ar";
  }
  b.node("Conv", {last, "w2"}, {"y"}, {test::Attr::Ints("kernel_shape", {1, 1})}).output("y");
  return b.bytes();
}

struct Compiled {
  std::vector<Tensor> outputs;
  std::string conv_kernel, conv_op;
  int reorders = 0;
};

Compiled run_with(const std::string& bytes, const std::string& kernels, const std::vector<Tensor>& inputs) {
  CompileOptions options;
  options.kernels = kernels;
  options.num_cores = 2;
  const Engine e = Engine::load_from_bytes(bytes, options);
  Compiled c;
  for (const LayerInfo& l : e.describe().layers) {
    if (l.op == "Reorder") ++c.reorders;
    if (l.op.rfind("Conv", 0) == 0 && c.conv_kernel.empty()) c.conv_kernel = l.kernel, c.conv_op = l.op;
  }
  c.outputs = e.run(inputs);
  return c;
}

TEST(SparseConvF32Engine, SparseRowsMatchTheDenseRowWithSiluAndResidualFused) {
  const F32SpconvShape shapes[] = {shape(1, 24, 17, 19, 40, 3, 1, 1, 1), shape(2, 36, 12, 12, 70, 1, 1, 0, 0),
                                   shape(1, 16, 21, 20, 32, 3, 2, 1, 1)};
  for (const F32SpconvVariant& v : kernels::f32_spconv_variants()) {
    if (!kernels::isa_available(v.isa)) continue;
    for (const F32SpconvShape& s : shapes) {
      for (int structure = 0; structure < (v.jit ? 2 : 1); ++structure) {
      // The JIT row takes unstructured zeros and 4-blocks alike.
      const bool blocks = v.jit ? structure == 1 : v.block == 4;
      for (bool residual : {false, true}) {
        const std::string bytes = model(s, 0.97, blocks, residual);
        std::vector<Tensor> inputs = {test::random_tensor({s.n, s.ic, s.h, s.w}, 21)};
        if (residual) inputs.push_back(test::random_tensor({s.n, s.oc, s.oh, s.ow}, 22));
        // The sparse row alone: next to the dense row it would be timed against it (contested).
        const Compiled sparse = run_with(bytes, v.name, inputs);
        const Compiled dense = run_with(bytes, "f32-conv-onednn", inputs);
        EXPECT_EQ(sparse.conv_kernel.rfind(v.name, 0), 0u) << sparse.conv_kernel;
        EXPECT_EQ(sparse.conv_op, residual ? "Conv+SiLU+Add" : "Conv+SiLU");
        EXPECT_EQ(dense.conv_kernel.rfind("f32-conv-onednn", 0), 0u) << dense.conv_kernel;
        float scale = 0;
        for (int64_t i = 0; i < dense.outputs[0].size(); ++i) scale = std::max(scale, std::fabs(dense.outputs[0].data_as<float>()[i]));
        EXPECT_TRUE(test::all_close(sparse.outputs[0], dense.outputs[0], 1e-5, 1e-5 * scale)) << v.name;
        // On AVX-512 oneDNN keeps NHWC, so the sparse layer adds no reorder (it reads the plain
        // graph input as it is, so it may need one fewer).
        if (kernels::isa_available(kernels::Isa::kAvx512)) {
          EXPECT_LE(sparse.reorders, dense.reorders) << v.name;
        }
      }
      }
    }
  }
}

// The JIT row's cost model: at 30 % sparsity it predicts about 1x of dense oneDNN and declines (the
// layer falls to the reference when nothing else may run it), at 85 % it accepts.
TEST(SparseConvF32Engine, JitRowDeclinesWeightsItPredictsNoFasterThanDense) {
  const F32SpconvVariant* v = jit_variant();
  ASSERT_NE(v, nullptr);
  if (!kernels::isa_available(v->isa)) GTEST_SKIP() << v->name << ": this process has no " << kernels::isa_name(v->isa);
  const F32SpconvShape s = shape(1, 64, 10, 10, 64, 3, 1, 1, 1);
  const std::vector<Tensor> inputs = {test::random_tensor({1, 64, 10, 10}, 2)};
  EXPECT_EQ(run_with(model(s, 0.3, false, false), v->name, inputs).conv_kernel, "reference");
  const Compiled sparse = run_with(model(s, 0.85, false, false), v->name, inputs);
  EXPECT_EQ(sparse.conv_kernel.rfind(v->name, 0), 0u) << sparse.conv_kernel;
}

// Where the JIT row declines (code beyond its cap), the intrinsic rows take the layer.
TEST(SparseConvF32Engine, LayersTooLargeForTheJitRowTakeTheIntrinsicRow) {
  const F32SpconvVariant* v = jit_variant();
  ASSERT_NE(v, nullptr);
  if (!kernels::isa_available(v->isa)) GTEST_SKIP() << v->name << ": this process has no " << kernels::isa_name(v->isa);
  std::vector<Tensor> inputs = {test::random_tensor({1, 4096, 2, 2}, 21)};
  const F32SpconvShape large = shape(1, 4096, 2, 2, 1024, 1, 1, 0, 0);  // ~12 MB of code at 70 %
  const Compiled c = run_with(model(large, 0.7, false, false), "sparse-conv-f32-1x1-*", inputs);
  EXPECT_EQ(c.conv_kernel.rfind("sparse-conv-f32-1x1-64x1-avx512", 0), 0u) << c.conv_kernel;
  const F32SpconvShape small = shape(1, 4096, 2, 2, 64, 1, 1, 0, 0);
  const Compiled d = run_with(model(small, 0.7, false, false), "sparse-conv-f32-1x1-*", inputs);
  EXPECT_EQ(d.conv_kernel.rfind(v->name, 0), 0u) << d.conv_kernel;
}

TEST(SparseConvF32Engine, DenseWeightsStayOnTheDenseRow) {
  const F32SpconvShape s = shape(1, 16, 10, 10, 16, 3, 1, 1, 1);
  const std::string bytes = model(s, 0.1, false, false);
  const Compiled c = run_with(bytes, "", {test::random_tensor({1, 16, 10, 10}, 1)});
  EXPECT_EQ(c.conv_kernel.rfind("f32-conv-onednn", 0), 0u) << c.conv_kernel;
}

TEST(SparseConvF32Engine, PrunedWeightsTakeASparseRowAndCountAsSparse) {
  if (!kernels::isa_available(kernels::Isa::kAvx2)) GTEST_SKIP() << "no vector sparse row in this process";
  const F32SpconvShape s = shape(1, 32, 12, 12, 48, 3, 1, 1, 1);
  CompileOptions options;
  options.num_cores = 2;
  options.kernels = "-f32-conv-onednn";  // else the faster of sparse and dense, measured, runs
  const Engine e = Engine::load_from_bytes(model(s, 0.9, true, false), options);
  const PlanDescription d = e.describe();
  std::string kernel;
  for (const LayerInfo& l : d.layers) {
    if (l.op == "Conv+SiLU" && kernel.empty()) {
      kernel = l.kernel;
      EXPECT_EQ(l.dtype, "f32");
      EXPECT_GT(l.sparsity, 0.85);
    }
  }
  // The JIT row first where it runs (any zeros), else the 4-block rows for 4-block zeros.
  const std::string expected = kernels::isa_available(kernels::Isa::kAvx512) ? "sparse-conv-f32-1x1-jit-avx512" : "sparse-conv-f32-4x1-";
  EXPECT_EQ(kernel.rfind(expected, 0), 0u) << kernel;
  EXPECT_EQ(count_layers(d).sparse, 1);
}

// yolov5n with every Conv but the first and the Detect head's pruned to 85 % by magnitude (per
// layer): the sparse rows take them, and the output stays within 1e-4 of the dense path's.
std::string pruned_yolov5n(const std::string& bytes, double sparsity) {
  onnx::ModelProto model;
  EXPECT_TRUE(model.ParseFromString(bytes));
  std::map<std::string, onnx::TensorProto*> initializers;
  for (onnx::TensorProto& t : *model.mutable_graph()->mutable_initializer()) initializers[t.name()] = &t;
  bool first = true;
  for (const onnx::NodeProto& node : model.graph().node()) {
    if (node.op_type() != "Conv") continue;
    const bool keep = first || node.name().find("model.24") != std::string::npos;
    first = false;
    if (keep || !initializers.count(node.input(1))) continue;
    onnx::TensorProto& t = *initializers[node.input(1)];
    std::vector<float> w;
    if (!t.raw_data().empty()) {
      w.resize(t.raw_data().size() / sizeof(float));
      std::memcpy(w.data(), t.raw_data().data(), t.raw_data().size());
    } else {
      w.assign(t.float_data().begin(), t.float_data().end());
    }
    std::vector<float> magnitude(w.size());
    std::transform(w.begin(), w.end(), magnitude.begin(), [](float f) { return std::fabs(f); });
    const size_t cut = static_cast<size_t>(sparsity * static_cast<double>(w.size()));
    std::nth_element(magnitude.begin(), magnitude.begin() + static_cast<ptrdiff_t>(cut), magnitude.end());
    const float threshold = magnitude[cut];
    for (float& f : w) f = std::fabs(f) < threshold ? 0.0f : f;
    t.clear_float_data();
    t.set_raw_data(std::string(reinterpret_cast<const char*>(w.data()), w.size() * sizeof(float)));
  }
  return model.SerializeAsString();
}

TEST(SparseConvF32Engine, PrunedYolov5nMatchesTheDensePath) {
  const std::string path = test::shared_path("models/yolov5n.onnx");
  if (!test::require_file(path)) GTEST_SKIP() << "no " << path;
  if (!kernels::isa_available(kernels::Isa::kAvx2)) GTEST_SKIP() << "no vector sparse row in this process";
  const std::string bytes = pruned_yolov5n(test::read_binary_file(path), 0.85);
  CompileOptions options;
  options.num_cores = 2;
  options.kernels = "-f32-conv-onednn";  // the first and Detect convs run on the reference
  const Engine sparse = Engine::load_from_bytes(bytes, options);
  options.kernels = "-sparse-*";
  const Engine dense = Engine::load_from_bytes(bytes, options);
  EXPECT_GE(count_layers(sparse.describe()).sparse, 50);
  EXPECT_EQ(count_layers(dense.describe()).sparse, 0);
  const std::vector<Tensor> inputs = {test::random_tensor(sparse.inputs()[0].shape, 3, 0.0f, 1.0f)};
  const Tensor ys = sparse.run(inputs)[0], yd = dense.run(inputs)[0];
  float scale = 0;
  for (int64_t i = 0; i < yd.size(); ++i) scale = std::max(scale, std::fabs(yd.data_as<float>()[i]));
  EXPECT_TRUE(test::all_close(ys, yd, 1e-4, 1e-4 * scale));
}

}  // namespace
}  // namespace sparrow
