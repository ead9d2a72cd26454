// qu8-vadd: y = clamp(round(a * a_multiplier + (b * b_multiplier + bias)), 0, 255) over n bytes,
// with separate multiplies and adds (no FMA, which scalar code without -mfma calls from libm):
// the sum of two u8 tensors on their own grids, requantized to a third, with the zero points
// folded into bias. Rounding is half to even, as the CPU's default. One variant per ISA, richest
// first; each is bit-exact to qu8_vadd_reference (tests/unit/qu8_vadd_test.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/isa.h"

namespace sparrow::kernels {

struct Qu8AddParams {
  float a_multiplier = 1, b_multiplier = 1, bias = 0;
};

// For A on (a_scale, a_zero), B on (b_scale, b_zero) and the result on (y_scale, y_zero).
Qu8AddParams qu8_add_params(float a_scale, int32_t a_zero, float b_scale, int32_t b_zero, float y_scale, int32_t y_zero);

using Qu8VaddUkernel = void (*)(size_t n, const uint8_t* a, const uint8_t* b, uint8_t* y, const Qu8AddParams& p);

void qu8_vadd_reference(size_t n, const uint8_t* a, const uint8_t* b, uint8_t* y, const Qu8AddParams& p);
void qu8_vadd_ukernel_u16_avx512(size_t n, const uint8_t* a, const uint8_t* b, uint8_t* y, const Qu8AddParams& p);
void qu8_vadd_ukernel_u8_avx2(size_t n, const uint8_t* a, const uint8_t* b, uint8_t* y, const Qu8AddParams& p);
void qu8_vadd_ukernel_u1_scalar(size_t n, const uint8_t* a, const uint8_t* b, uint8_t* y, const Qu8AddParams& p);

struct Qu8VaddVariant {
  const char* name;  // "qu8-add-u16-avx512": dtype, op, elements per step, ISA (the kernel-table row)
  Isa isa;
  Qu8VaddUkernel ukernel;
};

// Every variant, richest first, whether or not this CPU runs it.
const std::vector<Qu8VaddVariant>& qu8_vadd_variants();
// The richest variant this CPU runs (SPARROW_ISA caps it).
const Qu8VaddVariant& qu8_vadd_best_variant();

// A residual add fused into the conv that computes one operand (QLinearConv's ops::kAddAttr):
// each output byte o and the residual's byte r at its position become vadd(r, o) when the
// residual is the add's first operand, else vadd(o, r).
struct Qu8ResidualAdd {
  Qu8AddParams params;
  bool residual_first = false;
  // y[0, n) in place, residual[0, n) the bytes at the same positions.
  void apply(Qu8VaddUkernel ukernel, size_t n, const uint8_t* residual, uint8_t* y) const {
    if (residual_first) {
      ukernel(n, residual, y, y, params);
    } else {
      ukernel(n, y, residual, y, params);
    }
  }
};

}  // namespace sparrow::kernels
