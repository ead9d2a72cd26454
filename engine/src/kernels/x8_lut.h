// x8-lut: y[i] = table[x[i]] over n bytes, for any function of one 8-bit value (SiLU or Sigmoid
// between u8 scales, requantization). One variant per ISA, richest first; each is tested against
// x8_lut_reference (tests/unit/x8_lut_test.cpp) and benchmarked (benchmarks/kernels/ukernel_bench.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/isa.h"

namespace sparrow::kernels {

// x and y may be the same buffer. table has 256 entries.
using X8LutUkernel = void (*)(size_t n, const uint8_t* x, uint8_t* y, const uint8_t* table);

void x8_lut_reference(size_t n, const uint8_t* x, uint8_t* y, const uint8_t* table);
void x8_lut_ukernel_u64_avx512vbmi(size_t n, const uint8_t* x, uint8_t* y, const uint8_t* table);
void x8_lut_ukernel_u32_avx2(size_t n, const uint8_t* x, uint8_t* y, const uint8_t* table);
void x8_lut_ukernel_u4_scalar(size_t n, const uint8_t* x, uint8_t* y, const uint8_t* table);

struct X8LutVariant {
  const char* name;  // "x8-lut-u64-avx512vbmi": dtype, op, bytes per step, ISA
  Isa isa;
  X8LutUkernel ukernel;
};

// Every variant, richest first, whether or not this CPU runs it.
const std::vector<X8LutVariant>& x8_lut_variants();
// The richest variant this process may run (isa_available): for kernels that end with a table.
const X8LutVariant& x8_lut_best_variant();

}  // namespace sparrow::kernels
