// x8-lut microkernels (kernels/x8_lut.h), each variant this process may run, single-threaded on
// a cache-resident and a memory-sized buffer. Benchmarks named X8Lut/<variant>/<bytes>; SPARROW_ISA
// hides the richer variants.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kernels/x8_lut.h"

namespace {

using sparrow::kernels::X8LutVariant;

void run_variant(benchmark::State& state, const X8LutVariant& v) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::mt19937 rng(1);
  std::vector<uint8_t> table(256), x(n), y(n);
  for (uint8_t& b : table) b = static_cast<uint8_t>(rng());
  for (uint8_t& b : x) b = static_cast<uint8_t>(rng());
  for (auto _ : state) {
    v.ukernel(n, x.data(), y.data(), table.data());
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(n));
}

// Registered from main() (kernel_bench.cpp), after SPARROW_ISA is known.
}  // namespace

namespace sparrow::bench {

void register_x8_lut_benchmarks() {
  for (const X8LutVariant& v : sparrow::kernels::x8_lut_variants()) {
    if (!sparrow::kernels::isa_available(v.isa)) continue;
    benchmark::RegisterBenchmark((std::string("X8Lut/") + v.name).c_str(), [v](benchmark::State& s) { run_variant(s, v); })
        ->Arg(16 << 10)
        ->Arg(16 << 20);
  }
}

}  // namespace sparrow::bench
