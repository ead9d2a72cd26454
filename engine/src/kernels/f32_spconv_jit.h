// f32-spconv's JIT variant (kernels/x86/avx512/f32_spconv_jit_avx512.cpp): x86 code generated per
// layer from its non-zero weights, a group of output channels in registers sharing each panel
// load. It replaces the microkernel call (F32SpmmUkernel) of the intrinsic variants; the panel
// packing and the epilogue (F32SpPackUkernel, F32SpStoreUkernel) are theirs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "kernels/f32_spconv.h"

namespace sparrow::kernels {

// Positions per tile (one zmm) and output channels per register group (every zmm but the panel
// vector's), as in the INT8 JIT row (kernels/qu8_spconv_jit.h), whose measurements chose them.
constexpr size_t kF32SpJitTile = 16;
constexpr size_t kF32SpJitRows = 31;

// Layers whose code would exceed this decline the JIT row (the intrinsic rows take them). FP32
// has four times the INT8 row's entries per weight byte (one weight per FMA, not a block of 4),
// so the yolov5l layers at 85 % need up to ~5 MB; the driver runs the code in blocks that stay
// in L2 over every tile of a band, so the size costs generation time and memory, not speed.
constexpr size_t kF32SpJitMaxCode = size_t{8} << 20;

// Code of one layer, one segment per register group and chunk of the reduction: segment
// g * chunks + k computes output channels [g * kF32SpJitRows, min(rows, (g + 1) * kF32SpJitRows))
// of one tile over the entries of chunk k, channel c's 16 sums to acc[(c - g * kF32SpJitRows) *
// 16 ...], from `panel`, the panel address of the tile's first position. Chunk 0 stores its
// sums, later chunks add theirs to them.
class F32SpconvJitCode {
 public:
  virtual ~F32SpconvJitCode() = default;
  virtual void run(size_t segment, const float* panel, float* acc) const = 0;
  virtual size_t segments() const = 0;
  // Bytes of segment s's code and weights: the driver's blocks of segments count them.
  virtual size_t segment_bytes(size_t segment) const = 0;
  virtual size_t bytes() const = 0;  // code and weights of all segments
  // Prefetches part `part` of `parts` of segments [first, last)'s code and weights into L2
  // (kernels/prefetch.h).
  virtual void prefetch(size_t first, size_t last, size_t part, size_t parts) const = 0;
  // Reads segments [first, last)'s code and weights with data loads (kernels/prefetch.h).
  virtual void load(size_t first, size_t last) const = 0;
};

// The generator of the AVX-512 variant (F32SpconvJitGenerate in kernels/f32_spconv.h).
std::shared_ptr<const F32SpconvJitCode> f32_spconv_jit_generate_avx512(size_t rows, size_t chunks, const uint32_t* counts,
                                                                       const F32SpNz* entries);

}  // namespace sparrow::kernels
