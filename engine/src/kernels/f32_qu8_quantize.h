// f32-qu8-quantize-nhwc: a float image of C planes (NCHW, one image) to u8 NHWC on a per-tensor
// grid, y[p * C + c] = saturate(round_half_even(x[c * plane_stride + p] / scale) + zero): a QDQ
// model's input quantized straight into the layout its int8 convs read, in one pass. Quantizing
// multiplies by 1 / scale where ONNX divides, as the oneDNN row does, so an exact tie may land
// one step apart from ONNX's reference; a NaN gives the byte of 0. One variant per ISA, richest
// first; each is tested against f32_qu8_quantize_nhwc_reference (tests/unit/f32_qu8_quantize_test.cpp)
// and benchmarked (benchmarks/kernels/ukernel_bench.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "kernels/isa.h"

namespace sparrow::kernels {

// `pixels` pixels of `channels` planes (1 to kQu8QuantizeMaxChannels), plane c at x + c * plane_stride.
using F32Qu8QuantizeUkernel = void (*)(size_t pixels, size_t channels, const float* x, size_t plane_stride, uint8_t* y,
                                       float inv_scale, int32_t zero);
constexpr size_t kQu8QuantizeMaxChannels = 4;

void f32_qu8_quantize_nhwc_reference(size_t pixels, size_t channels, const float* x, size_t plane_stride, uint8_t* y,
                                     float inv_scale, int32_t zero);
void f32_qu8_quantize_nhwc_ukernel_16_avx512vbmi(size_t pixels, size_t channels, const float* x, size_t plane_stride,
                                                 uint8_t* y, float inv_scale, int32_t zero);

struct F32Qu8QuantizeVariant {
  const char* name;  // "f32-qu8-quantize-nhwc-16-avx512vbmi": dtypes, op, pixels per step, ISA
  Isa isa;
  F32Qu8QuantizeUkernel ukernel;
};

// Every variant, richest first, whether or not this CPU runs it.
const std::vector<F32Qu8QuantizeVariant>& f32_qu8_quantize_variants();

}  // namespace sparrow::kernels
