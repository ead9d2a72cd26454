// Microkernel benchmarks: each variant of each family this process may run (SPARROW_ISA hides
// the richer ones), single-threaded on a cache-resident and a memory-sized buffer, in bytes of
// output per second. Named <Family>/<variant>/<elements>. The f32-spconv steps around the
// multiply-adds (F32SpPack, F32SpStore, F32SpStorePlanar) and the qu8-spconv ones around the dot products
// (Qu8SpPack, Qu8SpEpilogue, Qu8SpEpiloguePlanar) are named by ISA and tile, and sized as YOLOv5's layers.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "kernels/f32_qu8_quantize.h"
#include "kernels/f32_spconv.h"
#include "kernels/qu8_spconv.h"
#include "kernels/qu8_vadd.h"
#include "kernels/x8_lut.h"

namespace {

std::vector<uint8_t> random_bytes(size_t n, std::mt19937& rng) {
  std::vector<uint8_t> v(n);
  for (uint8_t& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

void run_x8_lut(benchmark::State& state, sparrow::kernels::X8LutUkernel ukernel) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::mt19937 rng(1);
  const std::vector<uint8_t> table = random_bytes(256, rng), x = random_bytes(n, rng);
  std::vector<uint8_t> y(n);
  for (auto _ : state) {
    ukernel(n, x.data(), y.data(), table.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
}

void run_qu8_vadd(benchmark::State& state, sparrow::kernels::Qu8VaddUkernel ukernel) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::mt19937 rng(1);
  const std::vector<uint8_t> a = random_bytes(n, rng), b = random_bytes(n, rng);
  std::vector<uint8_t> y(n);
  const sparrow::kernels::Qu8AddParams p = sparrow::kernels::qu8_add_params(0.031f, 11, 0.017f, 200, 0.043f, 90);
  for (auto _ : state) {
    ukernel(n, a.data(), b.data(), y.data(), p);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
}

// An RGB image of range(0) / 3 pixels (planes of floats) to u8 NHWC.
void run_f32_qu8_quantize(benchmark::State& state, sparrow::kernels::F32Qu8QuantizeUkernel ukernel) {
  const size_t n = static_cast<size_t>(state.range(0)), pixels = n / 3;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  std::vector<float> x(3 * pixels);
  for (float& v : x) v = u(rng);
  std::vector<uint8_t> y(3 * pixels);
  for (auto _ : state) {
    ukernel(pixels, 3, x.data(), pixels, y.data(), 255.0f, 0);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(3 * pixels));
}

template <typename Variant, typename Run>
void register_family(const std::string& family, const std::vector<Variant>& variants, Run run) {
  for (const Variant& v : variants) {
    if (!sparrow::kernels::isa_available(v.isa)) continue;
    benchmark::RegisterBenchmark((family + "/" + v.name).c_str(), [v, run](benchmark::State& s) { run(s, v.ukernel); })
        ->Arg(16 << 10)
        ->Arg(16 << 20);
  }
}

// One f32-spmm call over 64 rows of 30 entries (4x1: 30 blocks) at random offsets within a panel
// of `range(0)` floats: the microkernel's rate on useful MACs, with the panel in L1 (32 KB) or
// L2 (512 KB). The conv around it adds the pack, the epilogue and the panel's misses.
void run_f32_spmm(benchmark::State& state, const sparrow::kernels::F32SpconvVariant& v) {
  using namespace sparrow::kernels;
  const size_t panel_floats = static_cast<size_t>(state.range(0)), rows = 64, per_row = 30;
  const size_t channel_stride = panel_floats / 4;
  std::vector<float> panel(panel_floats + 4 * v.tile, 0.5f), acc(rows * v.tile);
  std::mt19937 rng(1);
  std::vector<uint32_t> counts(rows, static_cast<uint32_t>(per_row));
  std::vector<F32SpNz> nz;
  std::vector<F32SpBlock4> blocks;
  for (size_t i = 0; i < rows * per_row; ++i) {
    const auto off = static_cast<uint32_t>(rng() % (channel_stride - v.tile));
    nz.push_back({1e-3f, off});
    blocks.push_back({off, {1e-3f, 1e-3f, 1e-3f, 1e-3f}});
  }
  const void* entries = v.block == 4 ? static_cast<const void*>(blocks.data()) : static_cast<const void*>(nz.data());
  for (auto _ : state) {
    v.spmm({rows, counts.data(), entries, channel_stride, panel.data(), acc.data(), false});
    benchmark::ClobberMemory();
  }
  const double macs = static_cast<double>(rows * per_row * v.tile) * v.block;
  state.counters["nonzero_GMAC/s"] = benchmark::Counter(macs * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// The panel pack of one plane row per call, `rows` rows in turn into a panel that stays in L2:
// range(0) pixels of range(1) channels, every range(2)-th pixel of the input (2: a stride-2
// conv's phase plane). Bytes are the panel's.
void run_f32_sppack(benchmark::State& state, sparrow::kernels::F32SpPackUkernel pack) {
  using namespace sparrow::kernels;
  const size_t pixels = static_cast<size_t>(state.range(0)), channels = static_cast<size_t>(state.range(1));
  const size_t step = static_cast<size_t>(state.range(2)), rows = 8;
  const size_t span = rows * pixels + 16;  // one channel's row of the panel, as F32Spconv lays it out
  std::vector<float> x(rows * pixels * step * channels, 0.5f), panel(channels * span);
  for (auto _ : state) {
    for (size_t r = 0; r < rows; ++r) {
      pack({pixels, 0, pixels, channels, channels, x.data() + r * pixels * step * channels, step * channels,
            panel.data() + r * pixels, span});
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * rows * pixels * channels * sizeof(float)));
}

// The epilogue of one tile of range(0) output channels with SiLU: bias, activation, transposes
// into the tile's NHWC pixels, which lie range(0) floats apart. Bytes are the output's.
void run_f32_spstore(benchmark::State& state, const sparrow::kernels::F32SpconvVariant& v) {
  using namespace sparrow::kernels;
  const size_t oc = static_cast<size_t>(state.range(0)), m = v.tile;
  const std::vector<float> acc(oc * m, 0.25f), bias(oc, 0.1f);
  std::vector<float> y(m * oc);
  std::vector<float*> dst(m);
  for (size_t j = 0; j < m; ++j) dst[j] = y.data() + j * oc;
  for (auto _ : state) {
    v.store({oc, acc.data(), bias.data(), sparrow::ops::Activation::kSilu, dst.data(), 0, false});
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * oc * m * sizeof(float)));
}

// The planar epilogue of one tile of range(0) output channels with SiLU into an NCHW output of
// 40x40 pixels, the tile's pixels adjacent (one vector per channel). Bytes are the output's.
void run_f32_spstore_planar(benchmark::State& state, const sparrow::kernels::F32SpconvVariant& v) {
  using namespace sparrow::kernels;
  const size_t oc = static_cast<size_t>(state.range(0)), m = v.tile, plane = 40 * 40;
  const std::vector<float> acc(oc * m, 0.25f), bias(oc, 0.1f);
  std::vector<float> y(oc * plane);
  std::vector<float*> dst(m);
  for (size_t j = 0; j < m; ++j) dst[j] = y.data() + j;
  for (auto _ : state) {
    F32SpStoreArgs a{oc, acc.data(), bias.data(), sparrow::ops::Activation::kSilu, dst.data(), 0, false};
    a.channel_stride = plane;
    v.store_planar(a);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * oc * m * sizeof(float)));
}

// True the first time `key` is seen, so that a microkernel shared by several variants is
// registered once.
template <class T>
bool first_sight(std::vector<T>& seen, const T& key) {
  if (std::find(seen.begin(), seen.end(), key) != seen.end()) return false;
  seen.push_back(key);
  return true;
}

// Each distinct pack and store microkernel once, under its first variant's ISA or tile.
void register_f32_spconv_steps() {
  using namespace sparrow::kernels;
  std::vector<F32SpPackUkernel> packs;
  std::vector<F32SpStoreUkernel> stores;
  for (const F32SpconvVariant& v : f32_spconv_variants()) {
    if (!isa_available(v.isa)) continue;
    if (first_sight(packs, v.pack)) {
      benchmark::RegisterBenchmark((std::string("F32SpPack/") + isa_name(v.isa)).c_str(),
                                   [pack = v.pack](benchmark::State& s) { run_f32_sppack(s, pack); })
          ->Args({80, 64, 1})
          ->Args({81, 64, 2})
          ->Args({161, 32, 2})
          ->Args({20, 512, 1});
    }
    if (first_sight(stores, v.store)) {
      const std::string name = std::string("F32SpStore/") + std::to_string(v.tile) + "-" + isa_name(v.isa);
      benchmark::RegisterBenchmark(name.c_str(), [v](benchmark::State& s) { run_f32_spstore(s, v); })->Arg(64)->Arg(256)->Arg(1024);
    }
    if (v.store_planar && first_sight(stores, v.store_planar)) {
      const std::string name = std::string("F32SpStorePlanar/") + std::to_string(v.tile) + "-" + isa_name(v.isa);
      benchmark::RegisterBenchmark(name.c_str(), [v](benchmark::State& s) { run_f32_spstore_planar(s, v); })->Arg(64)->Arg(256)->Arg(1024);
    }
  }
}

// The qu8 panel pack of one plane row per call, as run_f32_sppack: range(0) pixels of range(1)
// channels, every range(2)-th pixel of the input. Bytes are the panel's.
void run_qu8_sppack(benchmark::State& state, sparrow::kernels::Qu8SpconvPackUkernel pack) {
  const size_t pixels = static_cast<size_t>(state.range(0)), channels = static_cast<size_t>(state.range(1));
  const size_t step = static_cast<size_t>(state.range(2)), rows = 8;
  const size_t plane = rows * pixels + 64;  // one channel block's plane, 4 bytes per position
  std::mt19937 rng(1);
  const std::vector<uint8_t> x = random_bytes(rows * pixels * step * channels, rng);
  std::vector<uint8_t> panel((channels + 3) / 4 * plane * 4);
  for (auto _ : state) {
    for (size_t r = 0; r < rows; ++r) {
      pack(pixels, x.data() + r * pixels * step * channels, step * channels, channels, panel.data() + r * pixels * 4, plane * 4, 128);
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * rows * pixels * channels));
}

// The epilogue of one tile of range(0) output channels: requantizes the accumulator rows and
// transposes the bytes into the tile's NHWC pixels, range(0) bytes apart. Bytes are the output's.
// With `planar`, into channel-block planes of a 40x40 output (each block's 4 channels of the
// tile's pixels, 4 bytes per pixel, planes 6400 bytes apart).
void run_qu8_spepilogue(benchmark::State& state, const sparrow::kernels::Qu8SpconvVariant& v, bool planar) {
  using namespace sparrow::kernels;
  const size_t oc = static_cast<size_t>(state.range(0)), m = static_cast<size_t>(v.tile), plane = 40 * 40 * 4;
  Qu8SpconvWeights w;
  w.oc = static_cast<int64_t>(oc);
  w.comp.assign(oc, -1000);
  w.bias.assign(oc, 25.0f);
  w.scale.assign(oc, 0.004f);
  w.y_zero = 3;
  std::mt19937 rng(1);
  std::vector<int32_t> acc(oc * m);
  for (int32_t& a : acc) a = static_cast<int32_t>(rng() % 60000);
  std::vector<uint8_t> y(planar ? (oc + 3) / 4 * plane : m * oc);
  for (auto _ : state) {
    if (planar) {
      v.epilogue_planar(w, acc.data(), m, m, y.data(), plane);
    } else {
      v.epilogue(w, acc.data(), m, m, y.data(), oc);
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * oc * m));
}

// Each distinct pack and epilogue once, under its first variant's ISA or tile.
void register_qu8_spconv_steps() {
  using namespace sparrow::kernels;
  std::vector<Qu8SpconvPackUkernel> packs;
  std::vector<std::pair<Qu8SpconvEpilogue, int>> epilogues;
  for (const Qu8SpconvVariant& v : qu8_spconv_variants()) {
    if (!isa_available(v.isa)) continue;
    if (first_sight(packs, v.pack)) {
      benchmark::RegisterBenchmark((std::string("Qu8SpPack/") + isa_name(v.isa)).c_str(),
                                   [pack = v.pack](benchmark::State& s) { run_qu8_sppack(s, pack); })
          ->Args({80, 128, 1})
          ->Args({81, 64, 2})
          ->Args({161, 64, 2})
          ->Args({20, 512, 1});
    }
    if (first_sight(epilogues, std::pair<Qu8SpconvEpilogue, int>{v.epilogue, v.tile})) {
      const std::string name = std::string("Qu8SpEpilogue/") + std::to_string(v.tile) + "-" + isa_name(v.isa);
      benchmark::RegisterBenchmark(name.c_str(), [v](benchmark::State& s) { run_qu8_spepilogue(s, v, false); })->Arg(64)->Arg(256)->Arg(1024);
    }
    if (v.epilogue_planar && first_sight(epilogues, std::pair<Qu8SpconvEpilogue, int>{v.epilogue_planar, v.tile})) {
      const std::string name = std::string("Qu8SpEpiloguePlanar/") + std::to_string(v.tile) + "-" + isa_name(v.isa);
      benchmark::RegisterBenchmark(name.c_str(), [v](benchmark::State& s) { run_qu8_spepilogue(s, v, true); })->Arg(64)->Arg(256)->Arg(1024);
    }
  }
}

}  // namespace

namespace sparrow::bench {

// Called from kernel_bench.cpp's main().
void register_ukernel_benchmarks() {
  register_family("X8Lut", kernels::x8_lut_variants(), run_x8_lut);
  register_family("Qu8Vadd", kernels::qu8_vadd_variants(), run_qu8_vadd);
  register_family("F32Qu8Quantize", kernels::f32_qu8_quantize_variants(), run_f32_qu8_quantize);
  for (const kernels::F32SpconvVariant& v : kernels::f32_spconv_variants()) {
    if (!kernels::isa_available(v.isa) || !v.spmm) continue;  // a JIT variant has no microkernel to time alone
    benchmark::RegisterBenchmark((std::string("F32Spmm/") + v.name).c_str(), [v](benchmark::State& s) { run_f32_spmm(s, v); })
        ->Arg(8 << 10)
        ->Arg(128 << 10);
  }
  register_f32_spconv_steps();
  register_qu8_spconv_steps();
}

}  // namespace sparrow::bench
