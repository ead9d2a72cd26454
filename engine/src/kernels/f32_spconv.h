// f32-spconv: Conv with sparse FP32 weights on NHWC or NCHW activations, skipping the zero weights.
//
// Orientation (XNNPACK spmm, "Fast Sparse ConvNets"): the vector lanes hold M output positions,
// a non-zero weight is broadcast and multiplied into them. NHWC keeps the positions C apart,
// so each band of output rows first packs its input into a channel-major "panel":
//   panel[phase][channel][band position],   channel stride `span` floats.
// A stride-s convolution is split into s x s phase planes (space-to-depth), in which every tap
// (kh, kw) is a constant position shift (kh/s)*wq + kw/s of plane (kh%s, kw%s); output position
// (r, x) of the band is panel position r*wq + x. So a weight's whole contribution is one panel
// offset, fixed at compile time, for every shape (1x1, 3x3, 6x6, any stride and padding): no
// im2col, and each input element is packed once per band (plus the halo rows of taller kernels).
// Positions x >= ow of a plane row are garbage lanes, computed and never stored.
//
// Weights are packed once, at compile time, per (block of 64 output channels, chunk of input
// channels): each row's entries back to back, ordered by panel offset. Chunks keep a tile's
// share of the panel in L1. Two formats:
//   1x1: unstructured, one {weight, offset} per non-zero;
//   4x1: blocks of 4 consecutive input channels at one (oc, kh, kw), one offset and 4 weights.
// Each row runs alone; the microkernels split a row's entries over independent partial sums to
// hide the FMA latency, so rows need no grouping and no padding to a common length.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/isa.h"
#include "ops/fused_attrs.h"

namespace sparrow::kernels {

// One non-zero of the unstructured format: its weight, and its panel offset in floats.
struct F32SpNz {
  float w;
  uint32_t off;
};
// One 4x1 block: the weights of input channels c..c+3 at one (oc, kh, kw); channel c+k sits at
// panel offset off + k * channel_stride. Channels past the layer's count have weight 0.
struct F32SpBlock4 {
  uint32_t off;
  float w[4];
};

// acc[r][0..M) = (accumulate ? acc[r] : 0) + sum over row r's entries of w * base[off + 0..M),
// for r < rows; row r has counts[r] entries, and the rows' entries follow one another.
struct F32SpmmArgs {
  size_t rows;
  const uint32_t* counts;
  const void* entries;  // F32SpNz or F32SpBlock4, as the variant's block says
  size_t channel_stride;
  const float* base;
  float* acc;  // [rows][M]
  bool accumulate;
};
using F32SpmmUkernel = void (*)(const F32SpmmArgs& a);

// The epilogue of one tile: v = act(acc[r][j] + bias[r]), then dst[j][(oc0 + r) * channel_stride]
// = v (or += v when accumulate: the output holds a residual). A null dst[j] is a garbage lane.
// NHWC stores (`store`) take channel_stride 1; planar ones (`store_planar`, NCHW output) the
// output's H x W, and run a row's 16 lanes as one vector where their pixels are adjacent.
struct F32SpStoreArgs {
  size_t rows;
  const float* acc;  // [rows][M]
  const float* bias;  // rows values
  ops::Activation act;
  float* const* dst;  // M pointers to output pixels (channel 0)
  size_t oc0;
  bool accumulate;
  size_t channel_stride = 1;
};
using F32SpStoreUkernel = void (*)(const F32SpStoreArgs& a);

// The panel pack of one plane row of `pixels`, of which [begin, end) lie inside the image (the
// rest is padding): dst[c * dst_stride + j] = src[(j - begin) * src_stride + c] for those j and
// c < channels, and 0 elsewhere up to padded_channels. Writes whole rows, so the panel needs no
// separate clearing.
struct F32SpPackArgs {
  size_t pixels, begin, end, channels, padded_channels;
  const float* src;  // pixel `begin`
  size_t src_stride;
  float* dst;
  size_t dst_stride;
};
using F32SpPackUkernel = void (*)(const F32SpPackArgs& a);

// Code generated per layer (kernels/f32_spconv_jit.h) in place of a microkernel: from every
// output channel's non-zeros in each chunk of input channels (row r of chunk k has
// counts[k * rows + r] entries, sorted by panel offset; chunk after chunk, row after row). Throws
// sparrow::Error when it declines the layer (code too large, offsets beyond 32 bits).
class F32SpconvJitCode;
using F32SpconvJitGenerate = std::shared_ptr<const F32SpconvJitCode> (*)(size_t rows, size_t chunks, const uint32_t* counts,
                                                                         const F32SpNz* entries);

struct F32SpconvVariant {
  const char* name;  // "sparse-conv-f32-4x1-64x1-avx512": dtype, op, block (ic x oc), tile (positions x rows), ISA
  Isa isa;
  int block;    // 1 (unstructured) or 4 (4 input channels)
  size_t tile;  // M: output positions per microkernel call
  F32SpmmUkernel spmm;  // null for a JIT variant
  F32SpStoreUkernel store;
  F32SpPackUkernel pack;
  F32SpconvJitGenerate jit = nullptr;  // set for a JIT variant (block 1, any zeros)
  F32SpStoreUkernel store_planar = nullptr;  // NCHW output; null: the variant writes NHWC only
};

// Every variant, richest first, whether or not this CPU runs it.
const std::vector<F32SpconvVariant>& f32_spconv_variants();

void f32_spmm_1x1_64x1_avx512(const F32SpmmArgs& a);
void f32_spmm_4x1_64x1_avx512(const F32SpmmArgs& a);
void f32_spstore_64_avx512(const F32SpStoreArgs& a);
void f32_spstore_16_avx512(const F32SpStoreArgs& a);
void f32_spstore_planar_64_avx512(const F32SpStoreArgs& a);
void f32_spstore_planar_16_avx512(const F32SpStoreArgs& a);
void f32_sppack_avx512(const F32SpPackArgs& a);
void f32_spmm_1x1_32x1_avx2(const F32SpmmArgs& a);
void f32_spmm_4x1_32x1_avx2(const F32SpmmArgs& a);
void f32_spstore_32_avx2(const F32SpStoreArgs& a);
void f32_sppack_avx2(const F32SpPackArgs& a);
void f32_spmm_1x1_16x1_scalar(const F32SpmmArgs& a);
void f32_spmm_4x1_16x1_scalar(const F32SpmmArgs& a);
void f32_spstore_16_scalar(const F32SpStoreArgs& a);  // any channel_stride: NHWC and planar
void f32_sppack_scalar(const F32SpPackArgs& a);

// A 2-D convolution, group 1, dilation 1; weights OIHW.
struct F32SpconvShape {
  int64_t n = 1, ic = 1, h = 1, w = 1, oc = 1, kh = 1, kw = 1, sh = 1, sw = 1, pad_top = 0, pad_left = 0, oh = 1, ow = 1;
};

// Fractions of zero weights, and of all-zero 4x1 blocks (4 consecutive input channels at one
// oc, kh, kw; the last block of a row may be short).
struct F32SparsityProfile {
  double element = 0, block4 = 0;
};
F32SparsityProfile f32_sparsity_profile(const F32SpconvShape& s, const float* weights);

// The plain reference: NHWC in and out, OIHW weights, then bias, activation and residual (added
// last, from `y` itself when accumulate, as the fused op defines).
void f32_spconv_reference(const F32SpconvShape& s, const float* x, const float* weights, const float* bias,
                          ops::Activation act, bool accumulate, float* y);

// The activations' layouts: NHWC, or planar (NCHW). A planar input is channel-major already: a
// 1x1 stride-1 conv reads it in place as its panel, with no pack (f32_spconv_reads_in_place says
// where; other convs take NHWC, whose pack transposes pixels as fast as copying planar rows). A
// planar output takes each accumulator row as it is, without the transpose to pixels. So a sparse
// conv feeding 1x1 sparse convs writes planar (Fast Sparse ConvNets' CHW), and NHWC for the rest.
struct F32SpconvLayouts {
  bool planar_in = false, planar_out = false;
};

// Whether a conv can read a planar input in place as its panel, with tiles of `tile`
// positions: 1x1 stride 1 unpadded, whole groups of 4 channels, every image whole tiles (so
// that no tile reads past the tensor), and channels not a multiple of 4 KB apart (160x160
// images), where every channel's share of a tile would fall in one L1 set.
bool f32_spconv_reads_in_place(const F32SpconvShape& s, size_t tile);

// One compiled sparse convolution: band plan and packed weights for one variant.
class F32Spconv {
 public:
  // `cores` only sizes the work split (any team size runs it correctly). Throws sparrow::Error
  // when the shape does not fit the format (panel offsets beyond 32 bits), the variant has no
  // planar store for a planar output, or a planar input cannot be read in place.
  F32Spconv(const F32SpconvShape& shape, const float* weights, const float* bias, ops::Activation act,
            const F32SpconvVariant& variant, int cores, F32SpconvLayouts layouts = {});

  // x, y: in the layouts given. When accumulate, y holds the residual on entry. `scratch` holds `slots`
  // regions of scratch_bytes_per_slot() (64-byte aligned, zeroed once when allocated); at most
  // `slots` threads run.
  void run(const float* x, float* y, bool accumulate, void* scratch, int slots) const;
  // y's pixels `stride` floats apart (a channel slice of a wider NHWC tensor) rather than oc.
  // NHWC output only.
  void set_output_stride(int64_t stride) { out_stride_ = stride; }
  size_t scratch_bytes_per_slot() const;
  size_t packed_bytes() const;
  // For describe(), without spaces: "band8:chunk2:14.8%" (rows per band, channel chunks, share
  // of the dense weights stored).
  std::string summary() const;

 private:
  void pack_band(const float* x, int64_t n, int64_t oy0, int64_t rows, float* panel) const;
  size_t panel_bytes() const;
  void store(F32SpStoreArgs a) const;  // the variant's store for the output's layout
  // `loaded`: the part whose code the calling thread has read (kernels/prefetch.h), updated.
  void run_item(const float* x, float* y, bool accumulate, int64_t item, std::byte* slot, int64_t& loaded) const;
  void tile_destinations(float* y, int64_t n, int64_t oy0, int64_t rows, int64_t t, float** dst) const;
  void run_tiles_jit(float* y, bool accumulate, int64_t n, int64_t oy0, int64_t rows, size_t s0, size_t s1,
                     const float* panel, float* acc, float** dst) const;
  void prefetch_block(size_t b, size_t s0, size_t s1, size_t part, size_t parts) const;
  size_t acc_bytes() const;
  void pack_weights(const float* weights);
  void generate_code();

  F32SpconvShape s_;
  F32SpconvVariant v_;
  ops::Activation act_;
  F32SpconvLayouts layouts_;
  std::vector<float> bias_;
  int64_t icp_ = 0, phy_ = 1, phx_ = 1, wq_ = 0, halo_ = 0, rows_ = 1, bands_ = 1, span_ = 0;
  int64_t chunk_ = 0, chunks_ = 1, row_blocks_ = 1, parts_ = 1;
  int64_t out_stride_ = 0;  // floats from one output pixel to the next
  // counts_[(rb * chunks_ + k) * 64 + r]; starts_[rb * chunks_ + k]: first entry (in entries).
  std::vector<uint32_t> counts_;
  std::vector<size_t> starts_;
  std::vector<F32SpNz> nz_;
  std::vector<F32SpBlock4> blocks_;
  size_t nonzero_weights_ = 0;
  // A JIT variant's code (one segment per register group, row_blocks_ of them, and chunk), and
  // the boundaries of its blocks of groups run over every tile of a band in turn: 0, ..., groups.
  std::shared_ptr<const F32SpconvJitCode> jit_;
  std::vector<size_t> code_blocks_;
};

inline constexpr size_t kF32SpRowBlock = 64;

}  // namespace sparrow::kernels
