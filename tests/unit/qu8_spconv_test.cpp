// Sparse INT8 convolution (kernels/qu8_spconv.h): every variant this process may run is bit-exact
// to the plain dense reference over random geometry (odd sizes, pads, strides, ic not a multiple
// of 4, oc not a multiple of the tile rows, batch 2), block sparsity 0 to 100 % with empty rows,
// zero points at both ends, a fused table after the requantization and a fused residual add after
// it; through the engine, the sparse rows give the bytes of the dense oneDNN row, with or without
// a quantized SiLU and a residual add fused.
// ctest runs this again under each poorer SPARROW_ISA.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <vector>

#include "kernels/kernel_table.h"
#include "kernels/qu8_spconv.h"
#include "kernels/qu8_spconv_jit.h"
#include "sparrow/engine.h"
#include "support/onnx_builder.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

using kernels::Qu8SpconvGeometry;
using kernels::Qu8SpconvQuant;
using kernels::Qu8SpconvVariant;
using test::Attr;

int64_t pick(std::mt19937_64& rng, int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); }

// OIHW s8 weights in [-w_max, w_max] with about `sparsity` of the 1x4 blocks (4 consecutive input
// channels at one output channel and tap) zero, and output channel 0 entirely zero.
std::vector<int8_t> block_sparse_weights(const Qu8SpconvGeometry& g, double sparsity, int w_max, std::mt19937_64& rng) {
  std::vector<int8_t> w(static_cast<size_t>(g.oc * g.ic * g.kh * g.kw));
  std::bernoulli_distribution keep(1.0 - sparsity);
  for (int64_t o = 0; o < g.oc; ++o) {
    for (int64_t cb = 0; cb < (g.ic + 3) / 4; ++cb) {
      for (int64_t t = 0; t < g.kh * g.kw; ++t) {
        if (o == 0 || !keep(rng)) continue;
        for (int64_t c = 4 * cb; c < std::min(g.ic, 4 * cb + 4); ++c) {
          w[static_cast<size_t>((o * g.ic + c) * g.kh * g.kw + t)] = static_cast<int8_t>(pick(rng, -w_max, w_max));
        }
      }
    }
  }
  return w;
}

struct Case {
  Qu8SpconvGeometry g;
  int64_t n = 1;
  std::vector<int8_t> w;
  Qu8SpconvQuant q;
  std::vector<uint8_t> x;
  std::vector<uint8_t> residual;  // the fused add's, when q.add is set
  std::string what;
  const uint8_t* residual_data() const { return residual.empty() ? nullptr : residual.data(); }
};

Case random_case(uint64_t seed, double sparsity) {
  std::mt19937_64 rng(seed);
  Case c;
  Qu8SpconvGeometry& g = c.g;
  g.kh = std::vector<int64_t>{1, 1, 3, 3, 6, 2}[pick(rng, 0, 5)];
  g.kw = pick(rng, 0, 4) == 0 ? pick(rng, 1, 3) : g.kh;
  g.sh = pick(rng, 1, 2);
  g.sw = pick(rng, 0, 3) == 0 ? 3 - g.sh : g.sh;
  g.pad_top = pick(rng, 0, g.kh / 2), g.pad_bottom = pick(rng, 0, g.kh / 2);
  g.pad_left = pick(rng, 0, g.kw / 2), g.pad_right = pick(rng, 0, g.kw / 2);
  g.ih = pick(rng, g.kh, 17), g.iw = pick(rng, g.kw, 23);
  // Within 2^24 for dense weights of +-127 (qu8_spconv_exactness_problem).
  g.ic = pick(rng, 1, g.kh * g.kw > 9 ? 12 : 45), g.oc = pick(rng, 1, 41);
  g.oh = (g.ih + g.pad_top + g.pad_bottom - g.kh) / g.sh + 1;
  g.ow = (g.iw + g.pad_left + g.pad_right - g.kw) / g.sw + 1;
  g.band = pick(rng, 0, 2) == 0 ? 0 : pick(rng, 1, g.oh);  // bands of any height, or the whole image
  g = kernels::qu8_spconv_geometry(g);
  c.n = pick(rng, 1, 2);
  c.w = block_sparse_weights(g, sparsity, 127, rng);
  c.q.x_zero = static_cast<int32_t>(std::vector<int64_t>{0, 7, 128, 255}[pick(rng, 0, 3)]);
  c.q.y_zero = static_cast<int32_t>(pick(rng, 0, 255));
  c.q.x_scale = 0.02f;
  const int64_t scales = pick(rng, 0, 1) ? g.oc : 1;
  for (int64_t o = 0; o < scales; ++o) c.q.w_scale.push_back(0.001f * static_cast<float>(pick(rng, 1, 20)));
  // The output grid spans about the accumulator's spread, so few outputs saturate.
  const double spread = 60.0 * 64.0 * std::sqrt(static_cast<double>(g.ic * g.kh * g.kw) * (1.0 - sparsity) + 1.0);
  c.q.y_scale = static_cast<float>(0.02 * 0.01 * spread / 60.0);
  if (pick(rng, 0, 3) != 0) {
    for (int64_t o = 0; o < g.oc; ++o) c.q.bias.push_back(static_cast<int32_t>(pick(rng, -20000, 20000)));
  }
  c.x.resize(static_cast<size_t>(c.n * g.ih * g.iw * g.ic));
  for (uint8_t& v : c.x) v = static_cast<uint8_t>(rng());
  if (pick(rng, 0, 2) == 0) {  // a fused table (a quantized SiLU's), here any permutation of the bytes
    for (int i = 0; i < 256; ++i) c.q.table.push_back(static_cast<uint8_t>(i));
    std::shuffle(c.q.table.begin(), c.q.table.end(), rng);
  }
  if (pick(rng, 0, 2) == 0) {  // a fused residual add, on grids of their own; the residual either operand
    kernels::Qu8ResidualAdd add;
    auto scale = [&] { return 0.01f * static_cast<float>(pick(rng, 1, 9)); };
    auto zero = [&] { return static_cast<int32_t>(pick(rng, 0, 255)); };
    add.params = kernels::qu8_add_params(scale(), zero(), scale(), zero(), scale(), zero());
    add.residual_first = pick(rng, 0, 1) == 1;
    c.q.add = add;
    c.residual.resize(static_cast<size_t>(c.n * g.oh * g.ow * g.oc));
    for (uint8_t& v : c.residual) v = static_cast<uint8_t>(rng());
  }
  c.what = "seed " + std::to_string(seed) + " n=" + std::to_string(c.n) + " ic=" + std::to_string(g.ic) +
           " oc=" + std::to_string(g.oc) + " in=" + std::to_string(g.ih) + "x" + std::to_string(g.iw) +
           " k=" + std::to_string(g.kh) + "x" + std::to_string(g.kw) + " s=" + std::to_string(g.sh) + "x" +
           std::to_string(g.sw) + " band=" + std::to_string(g.band) + " pads=" + std::to_string(g.pad_top) + "," + std::to_string(g.pad_left) + "," +
           std::to_string(g.pad_bottom) + "," + std::to_string(g.pad_right) + " sparsity=" + std::to_string(sparsity) +
           " x_zero=" + std::to_string(c.q.x_zero) + (c.q.table.empty() ? "" : " table") +
           (c.q.add ? (c.q.add->residual_first ? " add(residual, y)" : " add(y, residual)") : "");
  return c;
}

class Qu8Spconv : public ::testing::TestWithParam<Qu8SpconvVariant> {};

TEST_P(Qu8Spconv, BitExactToTheReference) {
  const Qu8SpconvVariant& v = GetParam();
  if (!kernels::isa_available(v.isa)) GTEST_SKIP() << v.name << ": this process has no " << kernels::isa_name(v.isa);
  uint64_t seed = 0;
  std::set<int> seen;  // output values, to show the comparison is not of saturated bytes
  int chunked = 0, blocked = 0, tabled = 0, added = 0;
  for (double sparsity : {0.0, 0.5, 0.85, 0.99, 1.0}) {
    for (int i = 0; i < 12; ++i) {
      const Case c = random_case(++seed, sparsity);
      SCOPED_TRACE(c.what);
      ASSERT_EQ(kernels::qu8_spconv_exactness_problem(c.g, c.w.data(), c.q), "");
      // Every other case split into chunks of a few channel blocks; for the JIT variant into code
      // segments of ~512 bytes, also in the cases run in blocks of segments below.
      const bool split = i % 2 || (v.jit && i % 3 == 0);
      const int64_t window = split ? 512 : kernels::kQu8SpconvWindow;
      const kernels::Qu8SpconvWeights w = kernels::qu8_spconv_pack(v, c.g, c.w.data(), c.q, window);
      chunked += w.chunks > 1;
      const size_t out = static_cast<size_t>(c.n * c.g.oh * c.g.ow * c.g.oc);
      std::vector<uint8_t> expected(out), got(out + 64, 0xA5);
      kernels::qu8_conv_reference(c.g, c.n, c.x.data(), c.w.data(), c.q, expected.data(), c.residual_data());
      // Every third case runs its weights in blocks of a few segments over all tiles.
      const size_t block_bytes = i % 3 == 0 ? 256 : SIZE_MAX;
      kernels::qu8_spconv_run(v, c.g, w, c.n, c.x.data(), static_cast<uint8_t>(c.q.x_zero), got.data(), block_bytes,
                              c.residual_data());
      blocked += kernels::qu8_spconv_segment_blocks(w, block_bytes).size() > 2;
      for (size_t j = 0; j < out; ++j) ASSERT_EQ(got[j], expected[j]) << v.name << " at " << j;
      for (size_t j = out; j < got.size(); ++j) ASSERT_EQ(got[j], 0xA5) << v.name << " wrote past the output";
      for (uint8_t b : expected) seen.insert(b);
      tabled += !c.q.table.empty();
      added += c.q.add.has_value();
    }
  }
  EXPECT_GE(seen.size(), 200u);
  EXPECT_GE(tabled, 10);
  EXPECT_GE(added, 10);
  // A JIT code segment holds whole register groups of 31 channels: only oc > 31 splits.
  EXPECT_GE(blocked, v.jit ? 2 : 10);
  // The JIT code runs every channel block of a group in one pass.
  if (!v.jit) {
    EXPECT_GE(chunked, 10);
  }
}

// NHWC bytes of n images of hw pixels and c channels (c a multiple of 4) as channel blocks of 4,
// each a plane of hw pixels of 4 bytes.
std::vector<uint8_t> to_blocks4(const std::vector<uint8_t>& nhwc, int64_t n, int64_t hw, int64_t c) {
  std::vector<uint8_t> out(nhwc.size());
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t p = 0; p < hw; ++p) {
      for (int64_t k = 0; k < c; ++k) out[static_cast<size_t>(((i * c / 4 + k / 4) * hw + p) * 4 + k % 4)] = nhwc[static_cast<size_t>((i * hw + p) * c + k)];
    }
  }
  return out;
}

// Planar inputs read in place (1x1 convs on whole tiles) and planar outputs (any conv), with
// tables and residual adds: the reference's bytes, in the planar layout.
TEST_P(Qu8Spconv, PlanarLayoutsBitExactToTheReference) {
  const Qu8SpconvVariant& v = GetParam();
  if (!kernels::isa_available(v.isa)) GTEST_SKIP() << v.name << ": this process has no " << kernels::isa_name(v.isa);
  if (!v.epilogue_planar) GTEST_SKIP() << v.name << " writes NHWC only";
  int in_place = 0, compared = 0;
  for (uint64_t seed = 500; seed < 560; ++seed) {
    Case c = random_case(seed, seed % 3 == 0 ? 0.5 : 0.9);
    std::mt19937_64 rng(seed);
    if (seed % 2 == 0) {  // a 1x1 conv on whole tiles, which reads a planar input in place
      Qu8SpconvGeometry g;
      g.kh = g.kw = g.sh = g.sw = 1;
      g.ic = 4 * pick(rng, 1, 12), g.oc = 4 * pick(rng, 1, 12);
      g.ih = 8, g.iw = 8 * pick(rng, 1, 3);
      g.oh = g.ih, g.ow = g.iw;
      const int64_t tile = v.tile;
      g.band = pick(rng, 0, 1) ? 0 : std::min<int64_t>(g.ih, tile / std::gcd(g.iw, tile));
      c.g = kernels::qu8_spconv_geometry(g);
      c.w = block_sparse_weights(c.g, 0.8, 127, rng);
      c.x.resize(static_cast<size_t>(c.n * g.ih * g.iw * g.ic));
      for (uint8_t& b : c.x) b = static_cast<uint8_t>(rng());
      if (c.q.add) {
        c.residual.resize(static_cast<size_t>(c.n * g.oh * g.ow * g.oc));
        for (uint8_t& b : c.residual) b = static_cast<uint8_t>(rng());
      }
      c.q.w_scale.resize(1);
      c.q.bias.clear();
    }
    if (c.g.oc % 4 != 0) continue;
    Qu8SpconvGeometry g = c.g;
    g.planar_out = true;
    g.planar_in = kernels::qu8_spconv_reads_in_place(g, v.tile);
    g = kernels::qu8_spconv_geometry(g);
    SCOPED_TRACE(c.what + (g.planar_in ? " planar in" : "") + " planar out");
    const kernels::Qu8SpconvWeights w = kernels::qu8_spconv_pack(v, g, c.w.data(), c.q);
    const int64_t in_hw = g.ih * g.iw, out_hw = g.oh * g.ow;
    const size_t out = static_cast<size_t>(c.n * out_hw * g.oc);
    std::vector<uint8_t> expected(out), got(out + 64, 0xA5);
    kernels::qu8_conv_reference(c.g, c.n, c.x.data(), c.w.data(), c.q, expected.data(), c.residual_data());
    const std::vector<uint8_t> x = g.planar_in ? to_blocks4(c.x, c.n, in_hw, g.ic) : c.x;
    const std::vector<uint8_t> residual = c.q.add ? to_blocks4(c.residual, c.n, out_hw, g.oc) : std::vector<uint8_t>{};
    kernels::qu8_spconv_run(v, g, w, c.n, x.data(), static_cast<uint8_t>(c.q.x_zero), got.data(), SIZE_MAX,
                            residual.empty() ? nullptr : residual.data());
    expected = to_blocks4(expected, c.n, out_hw, g.oc);
    for (size_t j = 0; j < out; ++j) ASSERT_EQ(got[j], expected[j]) << v.name << " at " << j;
    for (size_t j = out; j < got.size(); ++j) ASSERT_EQ(got[j], 0xA5) << v.name << " wrote past the output";
    in_place += g.planar_in;
    ++compared;
  }
  EXPECT_GE(compared, 25);
  EXPECT_GE(in_place, 10);
}

// Output grids a billion times finer than the sums: scaled values far beyond int32 on both
// sides, which must saturate to 0 and 255 as the reference's do, not wrap.
TEST_P(Qu8Spconv, SaturatesSumsFarBeyondTheOutputGrid) {
  const Qu8SpconvVariant& v = GetParam();
  if (!kernels::isa_available(v.isa)) GTEST_SKIP() << v.name << ": this process has no " << kernels::isa_name(v.isa);
  int low = 0, high = 0;
  for (uint64_t seed = 100; seed < 112; ++seed) {
    Case c = random_case(seed, 0.5);
    c.q.y_scale *= 1e-9f;
    SCOPED_TRACE(c.what);
    const kernels::Qu8SpconvWeights w = kernels::qu8_spconv_pack(v, c.g, c.w.data(), c.q);
    const size_t out = static_cast<size_t>(c.n * c.g.oh * c.g.ow * c.g.oc);
    std::vector<uint8_t> expected(out), got(out);
    kernels::qu8_conv_reference(c.g, c.n, c.x.data(), c.w.data(), c.q, expected.data(), c.residual_data());
    kernels::qu8_spconv_run(v, c.g, w, c.n, c.x.data(), static_cast<uint8_t>(c.q.x_zero), got.data(), SIZE_MAX,
                            c.residual_data());
    for (size_t j = 0; j < out; ++j) ASSERT_EQ(got[j], expected[j]) << v.name << " at " << j;
    for (uint8_t b : expected) {
      low += b == 0;
      high += b == 255;
    }
  }
  EXPECT_GT(low, 100);
  EXPECT_GT(high, 100);
}

// Into a channel slice of a wider NHWC tensor (a Concat's, written in place): the slice holds
// the reference's bytes, and every byte around it is untouched.
TEST_P(Qu8Spconv, WritesIntoAChannelSliceOfAWiderTensor) {
  const Qu8SpconvVariant& v = GetParam();
  if (!kernels::isa_available(v.isa)) GTEST_SKIP() << v.name << ": this process has no " << kernels::isa_name(v.isa);
  for (uint64_t seed = 300; seed < 316; ++seed) {
    Case c = random_case(seed, 0.7);
    std::mt19937_64 rng(seed);
    const int64_t stride = c.g.oc + pick(rng, 1, 40), first = pick(rng, 0, stride - c.g.oc);
    c.g.y_stride = stride;
    SCOPED_TRACE(c.what + " stride=" + std::to_string(stride) + " first=" + std::to_string(first));
    const kernels::Qu8SpconvWeights w = kernels::qu8_spconv_pack(v, c.g, c.w.data(), c.q);
    const int64_t pixels = c.n * c.g.oh * c.g.ow;
    std::vector<uint8_t> expected(static_cast<size_t>(pixels * c.g.oc)), got(static_cast<size_t>(pixels * stride), 0xA5);
    kernels::qu8_conv_reference(c.g, c.n, c.x.data(), c.w.data(), c.q, expected.data(), c.residual_data());
    kernels::qu8_spconv_run(v, c.g, w, c.n, c.x.data(), static_cast<uint8_t>(c.q.x_zero), got.data() + first,
                            seed % 2 ? 256 : SIZE_MAX, c.residual_data());
    for (int64_t p = 0; p < pixels; ++p) {
      for (int64_t k = 0; k < stride; ++k) {
        const uint8_t byte = got[static_cast<size_t>(p * stride + k)];
        if (k >= first && k < first + c.g.oc) {
          ASSERT_EQ(byte, expected[static_cast<size_t>(p * c.g.oc + k - first)]) << "pixel " << p << " channel " << k - first;
        } else {
          ASSERT_EQ(byte, 0xA5) << "pixel " << p << " byte " << k << " lies outside the slice";
        }
      }
    }
  }
}

TEST_P(Qu8Spconv, PacksOnlyNonZeroBlocksAndKeepsEmptyRows) {
  const Qu8SpconvVariant& v = GetParam();
  uint64_t seed = 77;
  while (random_case(seed, 0.9).g.cb < 4) ++seed;
  const Case c = random_case(seed, 0.9);
  const kernels::Qu8SpconvWeights w = kernels::qu8_spconv_pack_weights(c.g, c.w.data(), c.q, v.tile, v.rows_per_group, 64);
  EXPECT_GT(w.chunks, 1);
  EXPECT_EQ(w.blocks, kernels::qu8_spconv_count_blocks(c.g, c.w.data()));
  int64_t real = 0;
  for (const kernels::Qu8SpconvEntry& e : w.entries) real += e.weights != 0;
  EXPECT_EQ(real, w.blocks);
  // Every output channel appears once among the rows, channel 0 (empty) included.
  std::set<int32_t> rows;
  for (int32_t r : w.rows) {
    if (r < c.g.oc) {
      EXPECT_TRUE(rows.insert(r).second) << r;
    }
  }
  EXPECT_EQ(static_cast<int64_t>(rows.size()), c.g.oc);
}

// A layer whose generated code would exceed the cap gets an error (a decline, for the kernel
// table), not megabytes of code; a sparse one of the same shape gets code below the cap.
TEST(Qu8SpconvJit, DeclinesCodeAboveTheCap) {
  const Qu8SpconvVariant* jit = nullptr;
  for (const Qu8SpconvVariant& v : kernels::qu8_spconv_variants()) {
    if (v.jit) jit = &v;
  }
  ASSERT_NE(jit, nullptr);
  // The generator is built with the variant's -m flags: it runs only where the code would.
  if (!kernels::isa_available(jit->isa)) GTEST_SKIP() << jit->name << ": this process has no " << kernels::isa_name(jit->isa);
  Qu8SpconvGeometry g;
  g.ih = g.iw = 10, g.ic = g.oc = 512, g.kh = g.kw = 3, g.pad_top = g.pad_left = g.pad_bottom = g.pad_right = 1;
  g.oh = g.ow = 10;
  g = kernels::qu8_spconv_geometry(g);
  Qu8SpconvQuant q;
  q.w_scale = {0.01f};
  std::mt19937_64 rng(5);
  // 512 x 128 x 9 blocks, all non-zero: ~10 MB of code.
  const std::vector<int8_t> dense = block_sparse_weights(g, 0.0, 3, rng);
  try {
    kernels::qu8_spconv_pack(*jit, g, dense.data(), q);
    FAIL() << "dense 3x3 512->512 generated code";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kResourceExhausted);
    EXPECT_NE(std::string(e.what()).find("KB"), std::string::npos) << e.what();
  }
  const std::vector<int8_t> sparse = block_sparse_weights(g, 0.9, 3, rng);
  const kernels::Qu8SpconvWeights w = kernels::qu8_spconv_pack(*jit, g, sparse.data(), q);
  ASSERT_NE(w.jit, nullptr);
  EXPECT_TRUE(w.entries.empty());
  EXPECT_LT(w.jit->bytes(), kernels::kQu8SpconvJitMaxCode);
  // 4 weight bytes per block in the array, and fewer than 17 code bytes per block: loads shared.
  EXPECT_GT(w.jit->bytes(), static_cast<size_t>(w.blocks) * 4);
  EXPECT_LT(w.jit->bytes(), static_cast<size_t>(w.blocks) * (4 + 17));
}

INSTANTIATE_TEST_SUITE_P(Variants, Qu8Spconv, ::testing::ValuesIn(kernels::qu8_spconv_variants()),
                         [](const ::testing::TestParamInfo<Qu8SpconvVariant>& p) {
                           std::string name = p.param.name;
                           for (char& ch : name) ch = ch == '-' ? '_' : ch;
                           return name;
                         });

// One QLinearConv row per variant, named as the variant and needing its ISA.
TEST(Qu8SpconvRows, AreTheVariants) {
  std::set<std::pair<std::string, kernels::Isa>> rows, variants;
  for (const kernels::KernelRow& row : kernels::kernel_table()) {
    if (row.op == "QLinearConv" && row.name.rfind("sparse-", 0) == 0) rows.emplace(row.name, row.isa);
  }
  for (const Qu8SpconvVariant& v : kernels::qu8_spconv_variants()) variants.emplace(v.name, v.isa);
  EXPECT_EQ(rows, variants);
}

TEST(Qu8SpconvReference, WithinOneStepOfQLinearConvEvaluate) {
  // The reference multiplies by 1 / y_scale where the float reference divides: one step apart.
  for (uint64_t seed = 200; seed < 210; ++seed) {
    Case c = random_case(seed, 0.5);
    c.q.table.clear();  // the requantization alone (a table's bytes are not one step apart)
    c.q.add.reset();
    SCOPED_TRACE(c.what);
    std::vector<uint8_t> y(static_cast<size_t>(c.n * c.g.oh * c.g.ow * c.g.oc));
    kernels::qu8_conv_reference(c.g, c.n, c.x.data(), c.w.data(), c.q, y.data());
    // The same sum in double, requantized by hand.
    for (int64_t oy = 0; oy < c.g.oh; oy += 3) {
      for (int64_t o = 0; o < c.g.oc; ++o) {
        double acc = c.q.bias.empty() ? 0.0 : c.q.bias[static_cast<size_t>(o)];
        for (int64_t ky = 0; ky < c.g.kh; ++ky) {
          for (int64_t kx = 0; kx < c.g.kw; ++kx) {
            const int64_t iy = oy * c.g.sh + ky - c.g.pad_top, ix = kx - c.g.pad_left;
            if (iy < 0 || iy >= c.g.ih || ix < 0 || ix >= c.g.iw) continue;
            for (int64_t ch = 0; ch < c.g.ic; ++ch) {
              acc += (c.x[static_cast<size_t>((iy * c.g.iw + ix) * c.g.ic + ch)] - c.q.x_zero) *
                     c.w[static_cast<size_t>(((o * c.g.ic + ch) * c.g.kh + ky) * c.g.kw + kx)];
            }
          }
        }
        const double ws = c.q.w_scale.size() > 1 ? c.q.w_scale[static_cast<size_t>(o)] : c.q.w_scale[0];
        const double v = std::clamp(std::nearbyint(acc * c.q.x_scale * ws / c.q.y_scale) + c.q.y_zero, 0.0, 255.0);
        ASSERT_LE(std::abs(v - y[static_cast<size_t>((oy * c.g.ow) * c.g.oc + o)]), 1.0) << "oy " << oy << " oc " << o;
      }
    }
  }
}

// ---- Through the engine ----

struct Conv {
  int64_t n, ic, oc, h, w, k, stride, pad;
};

enum class Residual { kNone, kFirst, kSecond };

// A QDQ convolution (fused into one QLinearConv) with 1x4-block-sparse weights; with `table`, a
// quantized Sigmoid after it, which becomes a table fused into the QLinearConv; with a residual,
// a quantized Add of the conv's input (first or second operand) and its result, which becomes an
// add fused into the QLinearConv (the conv must keep the input's shape).
std::string sparse_qdq_conv(const Conv& c, double sparsity, uint64_t seed, bool table = false, Residual residual = Residual::kNone) {
  std::mt19937_64 rng(seed);
  Qu8SpconvGeometry g;
  g.ic = c.ic, g.oc = c.oc, g.kh = g.kw = c.k;
  test::OnnxBuilder b;
  b.input("x", DType::kUint8, {c.n, c.ic, c.h, c.w});
  b.initializer("xs", Tensor::scalar<float>(0.02f)).initializer("xz", Tensor::scalar<uint8_t>(uint8_t{9}));
  const std::vector<int8_t> w = block_sparse_weights(g, sparsity, 127, rng);
  Tensor wq(DType::kInt8, {c.oc, c.ic, c.k, c.k});
  std::copy(w.begin(), w.end(), wq.data_as<int8_t>());
  std::vector<float> scales(static_cast<size_t>(c.oc));
  for (float& s : scales) s = 0.0005f * static_cast<float>(pick(rng, 1, 8));
  b.initializer("wq", wq).initializer("ws", Tensor::from_vector<float>({c.oc}, scales));
  b.initializer("wz", Tensor(DType::kInt8, {c.oc}));
  b.initializer("ys", Tensor::scalar<float>(0.05f)).initializer("yz", Tensor::scalar<uint8_t>(uint8_t{120}));
  b.initializer("b", test::random_tensor({c.oc}, seed + 1));
  b.node("DequantizeLinear", {"x", "xs", "xz"}, {"xf"});
  b.node("DequantizeLinear", {"wq", "ws", "wz"}, {"wf"}, {Attr::Int("axis", 0)});
  b.node("Conv", {"xf", "wf", "b"}, {"c"},
         {Attr::Ints("kernel_shape", {c.k, c.k}), Attr::Ints("strides", {c.stride, c.stride}),
          Attr::Ints("pads", {c.pad, c.pad, c.pad, c.pad})});
  const std::string y = residual == Residual::kNone ? "y" : "conv_out";
  if (!table) {
    b.node("QuantizeLinear", {"c", "ys", "yz"}, {y});
  } else {  // a quantized Sigmoid after it: one LookupTable, which the conv absorbs
    b.initializer("ss", Tensor::scalar<float>(1.0f / 255)).initializer("sz", Tensor::scalar<uint8_t>(uint8_t{0}));
    b.node("QuantizeLinear", {"c", "ys", "yz"}, {"cq"}).node("DequantizeLinear", {"cq", "ys", "yz"}, {"cf"});
    b.node("Sigmoid", {"cf"}, {"sig"}).node("QuantizeLinear", {"sig", "ss", "sz"}, {y});
  }
  if (residual != Residual::kNone) {
    b.initializer("rs", Tensor::scalar<float>(0.03f)).initializer("rz", Tensor::scalar<uint8_t>(uint8_t{60}));
    b.node("DequantizeLinear", {y, table ? "ss" : "ys", table ? "sz" : "yz"}, {"yf"});
    b.node("Add", residual == Residual::kFirst ? std::vector<std::string>{"xf", "yf"} : std::vector<std::string>{"yf", "xf"}, {"sum"});
    b.node("QuantizeLinear", {"sum", "rs", "rz"}, {"y"});
  }
  b.output("y", DType::kUint8);
  return b.bytes();
}

std::string conv_kernel(const Engine& e) {
  for (const LayerInfo& l : e.describe().layers) {
    if (l.op.rfind("QLinearConv", 0) == 0) return l.kernel;
  }
  return "no QLinearConv layer";
}

Tensor random_u8(const Shape& shape, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Tensor t(DType::kUint8, shape);
  for (int64_t i = 0; i < t.size(); ++i) t.data_as<uint8_t>()[i] = static_cast<uint8_t>(rng());
  return t;
}


// `model` with its conv on oneDNN's dense INT8 row; nullopt where oneDNN declines it (under
// some SPARROW_ISA).
std::optional<Engine> onednn_engine(const std::string& model) {
  CompileOptions options;
  options.kernels = "qu8-conv-onednn";
  Engine e = Engine::load_from_bytes(model, options);
  if (conv_kernel(e).rfind("qu8-conv-onednn", 0) != 0) return std::nullopt;
  return e;
}

// Runs `model` on x with its conv forced onto each sparse row this process has, expecting `want`
// from each; returns how many rows ran it (a large tile declines small bands).
int expect_sparse_rows_give(const std::string& model, const Tensor& x, const std::vector<uint8_t>& want) {
  int ran = 0;
  for (const Qu8SpconvVariant& v : kernels::qu8_spconv_variants()) {
    if (!kernels::isa_available(v.isa)) continue;
    SCOPED_TRACE(v.name);
    CompileOptions options;
    options.kernels = v.name;
    const Engine sparse = Engine::load_from_bytes(model, options);
    if (v.min_positions > 0 && conv_kernel(sparse) == "reference") continue;
    EXPECT_EQ(conv_kernel(sparse).rfind(v.name, 0), 0u) << conv_kernel(sparse);
    EXPECT_EQ(test::values_of<uint8_t>(sparse.run({x})[0]), want);
    ++ran;
  }
  return ran;
}

TEST(Qu8SpconvEngine, SparseRowsGiveTheBytesOfTheDenseOneDnnRow) {
  // Every shape, also those the cost model would leave to oneDNN (small 1x1, the 6x6 first layer).
  const test::ScopedEnv any("SPARROW_SPARSE_MIN_SPEEDUP", "0");
  const std::vector<Conv> convs = {{1, 64, 48, 20, 20, 1, 1, 0}, {2, 30, 37, 13, 11, 3, 1, 1}, {1, 32, 64, 17, 17, 3, 2, 1},
                                   {1, 3, 16, 32, 32, 6, 2, 2}, {2, 128, 20, 9, 9, 1, 1, 0}, {1, 16, 24, 40, 40, 3, 1, 1},
                                   // 700 KB of weights: run block by block over the tiles.
                                   {2, 512, 512, 7, 6, 3, 1, 1}};
  uint64_t seed = 10;
  int compared = 0;
  for (const Conv& c : convs) {
    const bool table = seed % 2 == 0;
    SCOPED_TRACE(table ? "with a fused table" : "without a table");
    const std::string model = sparse_qdq_conv(c, 0.85, ++seed, table);
    const Tensor x = random_u8({c.n, c.ic, c.h, c.w}, seed);
    const std::optional<Engine> dense = onednn_engine(model);
    if (!dense) continue;
    const std::vector<LayerInfo> layers = dense->describe().layers;
    ASSERT_TRUE(std::none_of(layers.begin(), layers.end(), [](const LayerInfo& l) { return l.op == "LookupTable"; }))
        << "the table is fused into the conv";
    SCOPED_TRACE("ic=" + std::to_string(c.ic) + " k=" + std::to_string(c.k));
    compared += expect_sparse_rows_give(model, x, test::values_of<uint8_t>(dense->run({x})[0]));
  }
  if (std::getenv("SPARROW_ISA") == nullptr) {
    EXPECT_GE(compared, 7 * 4 + 1);
  }
}

// A residual add fused into the conv (passes/fuse_conv_residual): the sparse rows give the bytes
// of the dense oneDNN row, which applies the same steps after oneDNN's conv, and both stay within
// one output step of the reference, which evaluates the conv and then QLinearAdd in float.
TEST(Qu8SpconvEngine, FusedResidualAddGivesTheBytesOfTheDenseOneDnnRow) {
  const test::ScopedEnv any("SPARROW_SPARSE_MIN_SPEEDUP", "0");
  const std::vector<Conv> convs = {{1, 32, 32, 20, 20, 3, 1, 1}, {2, 64, 64, 9, 11, 1, 1, 0}, {1, 48, 48, 13, 13, 3, 1, 1}};
  uint64_t seed = 40;
  int compared = 0;
  for (const Conv& c : convs) {
    for (Residual residual : {Residual::kFirst, Residual::kSecond}) {
      const bool table = seed % 2 == 0;
      SCOPED_TRACE(std::string(table ? "with" : "without") + " a table, the residual " +
                   (residual == Residual::kFirst ? "first" : "second") + ", ic=" + std::to_string(c.ic));
      const std::string model = sparse_qdq_conv(c, 0.8, ++seed, table, residual);
      const Tensor x = random_u8({c.n, c.ic, c.h, c.w}, seed);
      const std::optional<Engine> dense = onednn_engine(model);
      if (!dense) continue;
      const std::vector<LayerInfo> layers = dense->describe().layers;
      std::string ops;  // the conv between the reorders of the graph's NCHW input and output
      for (const LayerInfo& l : layers) ops += (l.op == "Reorder" ? "" : l.op + " ");
      ASSERT_EQ(ops, "QLinearConv+Add ") << "the table and the add are fused into the conv";
      EXPECT_NE(conv_kernel(*dense).find("add on qu8-add-"), std::string::npos) << conv_kernel(*dense);
      const Tensor expected = dense->run({x})[0];
      CompileOptions reference_options;
      reference_options.kernels = "x8-lut-u4-scalar";  // no QLinearConv row: the reference runs it
      const Engine reference_engine = Engine::load_from_bytes(model, reference_options);
      ASSERT_EQ(conv_kernel(reference_engine), "reference");
      const Tensor reference = reference_engine.run({x})[0];
      const std::vector<uint8_t> want = test::values_of<uint8_t>(expected), ref = test::values_of<uint8_t>(reference);
      ASSERT_EQ(want.size(), ref.size());
      for (size_t i = 0; i < want.size(); ++i) ASSERT_LE(std::abs(want[i] - ref[i]), 1) << "at " << i;
      compared += expect_sparse_rows_give(model, x, want);
    }
  }
  if (std::getenv("SPARROW_ISA") == nullptr) {
    EXPECT_GE(compared, 6 * 4);
  }
}

// Two QDQ 1x1 convs in a row, the second adding the first's output as its residual when
// `residual`: the first's output goes planar (channel blocks of 4) between the two sparse convs,
// and the bytes are the dense oneDNN row's.
std::string chained_qdq_convs(int64_t ch, int64_t hw, bool residual, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Qu8SpconvGeometry g;
  g.ic = g.oc = ch, g.kh = g.kw = 1;
  test::OnnxBuilder b;
  b.input("x", DType::kUint8, {1, ch, hw, hw});
  b.initializer("xs", Tensor::scalar<float>(0.02f)).initializer("xz", Tensor::scalar<uint8_t>(uint8_t{9}));
  b.initializer("ys", Tensor::scalar<float>(0.05f)).initializer("yz", Tensor::scalar<uint8_t>(uint8_t{120}));
  b.node("DequantizeLinear", {"x", "xs", "xz"}, {"xf"});
  std::string in = "xf";
  for (int k = 0; k < 2; ++k) {
    const std::string id = std::to_string(k);
    const std::vector<int8_t> w = block_sparse_weights(g, 0.85, 127, rng);
    Tensor wq(DType::kInt8, {ch, ch, 1, 1});
    std::copy(w.begin(), w.end(), wq.data_as<int8_t>());
    b.initializer("wq" + id, wq).initializer("ws" + id, Tensor::from_vector<float>({ch}, std::vector<float>(static_cast<size_t>(ch), 0.002f)));
    b.initializer("wz" + id, Tensor(DType::kInt8, {ch}));
    b.node("DequantizeLinear", {"wq" + id, "ws" + id, "wz" + id}, {"wf" + id}, {Attr::Int("axis", 0)});
    b.node("Conv", {in, "wf" + id}, {"c" + id}, {Attr::Ints("kernel_shape", {1, 1})});
    b.node("QuantizeLinear", {"c" + id, "ys", "yz"}, {"q" + id}).node("DequantizeLinear", {"q" + id, "ys", "yz"}, {"d" + id});
    in = "d" + id;
  }
  if (residual) {
    b.node("Add", {"d0", "d1"}, {"sum"});
    in = "sum";
  }
  b.node("QuantizeLinear", {in, "ys", "yz"}, {"y"});
  b.output("y", DType::kUint8);
  return b.bytes();
}

TEST(Qu8SpconvEngine, SparseConvsChainPlanarWithTheBytesOfTheDenseRow) {
  const test::ScopedEnv any("SPARROW_SPARSE_MIN_SPEEDUP", "0");
  int planar = 0;
  for (bool residual : {false, true}) {
    SCOPED_TRACE(residual ? "the second conv adds the first's output" : "plain chain");
    const std::string model = chained_qdq_convs(64, 20, residual, 70);
    const Tensor x = random_u8({1, 64, 20, 20}, 71);
    const std::optional<Engine> dense = onednn_engine(model);
    if (!dense) GTEST_SKIP() << "oneDNN declines the INT8 conv here";
    const std::vector<uint8_t> want = test::values_of<uint8_t>(dense->run({x})[0]);
    for (const Qu8SpconvVariant& v : kernels::qu8_spconv_variants()) {
      if (!kernels::isa_available(v.isa) || v.min_positions > 0) continue;
      SCOPED_TRACE(v.name);
      CompileOptions options;
      options.kernels = v.name;
      const Engine sparse = Engine::load_from_bytes(model, options);
      const std::vector<LayerInfo> layers = sparse.describe().layers;
      const auto first = std::find_if(layers.begin(), layers.end(), [](const LayerInfo& l) { return l.op.rfind("QLinearConv", 0) == 0; });
      ASSERT_NE(first, layers.end());
      EXPECT_EQ(first->layout, v.epilogue_planar ? "aBcd4b" : "acdb") << first->kernel;
      planar += first->layout == "aBcd4b";
      EXPECT_EQ(test::values_of<uint8_t>(sparse.run({x})[0]), want);
    }
  }
  if (std::getenv("SPARROW_ISA") == nullptr && kernels::isa_available(kernels::Isa::kAvx512Vnni)) {
    EXPECT_GE(planar, 2 * 3);
  }
}

// The sparse rows are contested (timed against oneDNN when they accept), so this forces them and
// checks that they accept sparse weights and decline dense or narrow ones.
TEST(Qu8SpconvEngine, SparseRowsAcceptSparseWeightsAndDeclineDenseOnes) {
  const Conv c = {1, 64, 64, 20, 20, 3, 1, 1};
  if (!kernels::isa_available(kernels::Isa::kAvx2)) GTEST_SKIP() << "no SIMD sparse row on this ISA";
  CompileOptions sparse_only;
  sparse_only.kernels = "sparse-conv-u8s8-*";
  const Engine sparse = Engine::load_from_bytes(sparse_qdq_conv(c, 0.9, 3), sparse_only);
  EXPECT_EQ(conv_kernel(sparse).rfind("sparse-conv-u8s8-", 0), 0u) << conv_kernel(sparse);
  // describe() and the benchmark JSON count it as sparse and INT8, with its weights' sparsity.
  const PlanDescription d = sparse.describe();
  const LayerCounts counts = count_layers(d);
  EXPECT_EQ(counts.sparse, 1);
  EXPECT_EQ(counts.int8, 1);
  for (const LayerInfo& l : d.layers) {
    if (l.op != "QLinearConv") continue;
    EXPECT_EQ(l.dtype, "qu8");
    EXPECT_NEAR(l.sparsity, 0.9, 0.03);
  }
  const Engine dense = Engine::load_from_bytes(sparse_qdq_conv(c, 0.3, 3), sparse_only);
  EXPECT_EQ(conv_kernel(dense), "reference");
  // Too little work per output (4 blocks of 16 channels) for the sparse kernel's packing and
  // requantization to pay.
  const Engine narrow = Engine::load_from_bytes(sparse_qdq_conv({1, 16, 64, 20, 20, 1, 1, 0}, 0.9, 3), sparse_only);
  EXPECT_EQ(conv_kernel(narrow), "reference");
  // Without forcing, a sparse row or oneDNN, whichever measured faster; never the reference.
  const Engine chosen = Engine::load_from_bytes(sparse_qdq_conv(c, 0.9, 3));
  EXPECT_NE(conv_kernel(chosen), "reference");
}

// The error a select function raises is its reason to decline (SPARROW_VERBOSE prints it).
TEST(Qu8SpconvEngine, ABadMinimumSpeedupDeclinesTheSparseRows) {
  const test::ScopedEnv bad("SPARROW_SPARSE_MIN_SPEEDUP", "fast");
  CompileOptions sparse_only;
  sparse_only.kernels = "sparse-conv-u8s8-*";
  const Engine e = Engine::load_from_bytes(sparse_qdq_conv({1, 64, 64, 20, 20, 3, 1, 1}, 0.9, 3), sparse_only);
  EXPECT_EQ(conv_kernel(e), "reference");
}

}  // namespace
}  // namespace sparrow
