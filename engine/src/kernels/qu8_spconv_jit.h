// qu8-spconv's JIT variant (kernels/x86/avx512vnni/qu8_spconv_jit_avx512vnni.cpp): code generated
// per layer from its sparsity pattern, output channels in register groups sharing each panel load.
// The code comes in segments of whole groups (~64 KB of code and weights, the `window` of
// qu8_spconv_pack()), so that the driver can run a layer whose code outgrows L2 in blocks of
// segments over every tile of a band, as it does with the intrinsic rows' weight streams.
#pragma once

#include <cstddef>

#include "kernels/qu8_spconv.h"

namespace sparrow::kernels {

// Layers whose code would exceed this decline the JIT row (the intrinsic rows take them): the
// code of one tile streams through the instruction cache once per tile, like the weight stream
// of the intrinsic rows, and a few MB per layer adds up over a model.
constexpr size_t kQu8SpconvJitMaxCode = size_t{4} << 20;

// Positions per tile (one zmm of s32 sums) and output channels per register group (all zmm but
// the panel vector's): measured against larger tiles and smaller groups in the generator.
constexpr int kQu8SpconvJitTile = 16;
constexpr int kQu8SpconvJitRows = 31;

void qu8_spconv_jit_pack_avx512vnni(Qu8SpconvWeights& w, int tile, int64_t segment_bytes);

}  // namespace sparrow::kernels
