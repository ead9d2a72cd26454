// qu8-spconv: block-sparse INT8 convolution, u8 activations (NHWC) times s8 weights whose
// non-zero 1x4 blocks (4 consecutive input channels at one output channel and tap) are packed
// at compile time, so that one dot-product instruction (vpdpbusd) consumes one block.
//
// Orientation: output pixels in the vector lanes, one weight block broadcast per output channel.
// The input is repacked, one band of output rows at a time, into a "panel": per stride phase
// (py, px) and channel block cb, a plane of [Hb][Wq] pixels of 4 bytes, padded with the source
// zero point. An output position q = oh * Wq + ow (oh counted from the band's first row) then
// reads, for tap (kh, kw), the pixel at q + (kh / sh) * Wq + kw / sw of plane (kh % sh, kw % sw,
// cb): a constant shift, so each packed block carries one constant panel offset and a tile of
// consecutive q is a contiguous run of the panel. Columns ow >= OW of a row are computed and
// dropped (the "garbage lanes": (KW - 1) / sw of Wq). A band's panel is small enough to stay in
// L2 from its packing to its last tile, and bands are the unit of work of the threads.
//
// Planar activations (between sparse convs, as the FP32 rows' NCHW): channel blocks of 4, each a
// plane of pixels of 4 bytes, [C/4][H][W][4] (oneDNN's aBcd4b) - the panel's own layout. A 1x1
// stride-1 conv reads such an input in place as its panel, with no pack (qu8_spconv_reads_in_place
// says where), and the epilogue writes such an output without its final transposes.
//
// The integer sum is exact on every ISA: sum (x - zx) * w, the pads holding zx. The epilogue is
// the dense row's (kernels/onednn/qlinear_conv_kernel.cpp), which is ONNX Runtime's:
// (float(acc) + bias) * ((x_scale * w_scale[c]) / y_scale), rounded half to even, plus y_zero,
// clamped to [0, 255]. It equals oneDNN's bytes while every partial sum stays below 2^24
// (checked at packing).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernels/isa.h"
#include "kernels/qu8_vadd.h"
#include "kernels/x8_lut.h"

namespace sparrow::kernels {

// Largest tile any variant uses, in positions: the panel's slack past its last row.
constexpr int64_t kQu8SpconvMaxTile = 64;

struct Qu8SpconvGeometry {
  int64_t ih = 0, iw = 0, ic = 0, oc = 0, kh = 0, kw = 0, sh = 1, sw = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int64_t oh = 0, ow = 0;
  int64_t band = 0;  // output rows per band; 0 for all
  int64_t y_stride = 0;  // bytes from one output pixel to the next (a channel slice of a wider tensor); 0 for oc
  bool planar_in = false;   // the input is planar and read in place: plane is the image's ih * iw
  bool planar_out = false;  // the output (and the residual of a fused add) is planar
  // Derived by qu8_spconv_geometry().
  int64_t cb = 0;         // channel blocks: ceil(ic / 4)
  int64_t hb = 0, wq = 0;  // rows and columns of one phase plane of a band
  int64_t plane = 0;      // positions per plane, slack included
  int64_t bands() const { return (oh + band - 1) / band; }
  int64_t band_rows(int64_t b) const { return b + 1 < bands() ? band : oh - b * band; }
  int64_t positions() const { return band * wq; }  // computed positions per full band, garbage included
  int64_t phases() const { return sh * sw; }
  int64_t out_stride() const { return y_stride ? y_stride : oc; }
  size_t panel_bytes() const { return planar_in ? 0 : static_cast<size_t>(phases() * cb * plane * 4); }
  // Byte offset of the block (tap kh, kw; channel block c) from a position's panel address.
  int64_t offset(int64_t tap_h, int64_t tap_w, int64_t c) const {
    const int64_t phase = (tap_h % sh) * sw + tap_w % sw;
    return ((phase * cb + c) * plane + (tap_h / sh) * wq + tap_w / sw) * 4;
  }
};

// Fills the derived fields. Throws sparrow::Error when the output would be empty. planar_in is
// for where qu8_spconv_reads_in_place() holds.
Qu8SpconvGeometry qu8_spconv_geometry(Qu8SpconvGeometry g);
// Whether a conv can read a planar input in place with tiles of `tile` positions: 1x1 stride 1
// unpadded, whole channel blocks, images and bands (g.band rows, as set) of whole tiles (no tile
// reads past the tensor), and channel blocks not a multiple of 4 KB apart (160x160 images, where
// every block of a tile would fall in one L1 set).
bool qu8_spconv_reads_in_place(const Qu8SpconvGeometry& g, int tile);

// One weight block of one row in the packed stream: panel byte offset and 4 s8 weights (byte j
// multiplies channel 4 * cb + j).
struct Qu8SpconvEntry {
  int32_t offset;
  int32_t weights;
};

// Block-CSR grouped by `rows_per_group` output channels: rows are sorted by their block count,
// longest first, and each group is padded to its longest row with zero blocks at offset 0, so
// that a microkernel runs `rows_per_group` rows in lockstep. The blocks are split into chunks of
// input channels whose panel window fits in L1 with room for the weight stream; a microkernel
// runs every group of chunk 0, storing its sums, then every group of chunk 1, adding to them...
// Segment s = chunk * groups + group; its entry (step, r) is at
// entries[segment_start[s] + step * rows_per_group + r].
// Code generated for one layer's sparsity pattern (kernels/qu8_spconv_jit.h), in segments of a
// few register groups each: segment s stores the accumulators of one tile for its output
// channels, from the panel address of the tile's first position.
class Qu8SpconvJitCode {
 public:
  virtual ~Qu8SpconvJitCode() = default;
  virtual void run(size_t segment, const uint8_t* panel, int32_t* acc) const = 0;
  virtual size_t bytes() const = 0;  // code and its weight array
  // Prefetches part `part` of `parts` of segments [first, last)'s code and weights into L2.
  virtual void prefetch(size_t first, size_t last, size_t part, size_t parts) const = 0;
  // Reads segments [first, last)'s code and weights with data loads (kernels/prefetch.h).
  virtual void load(size_t first, size_t last) const = 0;
};

struct Qu8SpconvWeights {
  int64_t oc = 0;
  int rows_per_group = 1;
  int64_t groups = 0, chunks = 1;
  std::vector<uint32_t> segment_steps, segment_start;
  std::vector<int32_t> rows;  // output channel of each (group, r); oc and up for the padding rows
  std::vector<Qu8SpconvEntry> entries;
  int64_t blocks = 0;         // non-zero blocks, padding excluded
  // Epilogue, per output channel: comp = -x_zero * sum of the channel's weights (the pads hold
  // x_zero), bias as float, and the output scale (x_scale * w_scale[c]) / y_scale.
  std::vector<int32_t> comp;
  std::vector<float> bias, scale;
  float y_zero = 0;
  // A fused table (QLinearConv's ops::kTableAttr), which the driver applies to each run of output
  // bytes right after the epilogue wrote it, on `lookup`: empty, or 256 entries.
  std::vector<uint8_t> table;
  X8LutUkernel lookup = nullptr;
  // A fused residual add (QLinearConv's ops::kAddAttr), applied after the table on `vadd`.
  std::optional<Qu8ResidualAdd> add;
  Qu8VaddUkernel vadd = nullptr;
  // Set by a JIT variant, which then holds the blocks in its code: entries is empty, and segment
  // s is code segment s, its segment_steps the code's and weights' bytes in entries' units.
  std::shared_ptr<const Qu8SpconvJitCode> jit;
  int64_t accumulator_rows() const { return (oc + 15) / 16 * 16 + rows_per_group; }
};

struct Qu8SpconvQuant {
  int32_t x_zero = 0, y_zero = 0;
  float x_scale = 1, y_scale = 1;
  std::vector<float> w_scale;   // 1 or oc entries
  std::vector<int32_t> bias;    // empty or oc entries
  std::vector<uint8_t> table;   // empty or 256 entries, applied to the output bytes
  std::optional<Qu8ResidualAdd> add;  // then a residual added, when set
};

// Non-zero 1x4 blocks of OIHW s8 weights [oc][ic][kh][kw]: ic padded to a multiple of 4.
int64_t qu8_spconv_count_blocks(const Qu8SpconvGeometry& g, const int8_t* w);
// For a microkernel of `tile` positions and `rows_per_group` rows; chunks of input channels read
// at most `window` panel bytes per tile. Measured on Zen 5 (kernel_bench SparseQConv, 1 core,
// 85 %): 16 and 32 KB windows were no faster than one chunk on the yolov5l 3x3 256@40 and 1x1
// 1024@20 shapes (within the noise of a shared machine, and slower on the 1x1: more padding per
// chunk and the partial sums' traffic), so only layers wider than 64 KB per tile are split.
constexpr int64_t kQu8SpconvWindow = 64 * 1024;
Qu8SpconvWeights qu8_spconv_pack_weights(const Qu8SpconvGeometry& g, const int8_t* w, const Qu8SpconvQuant& q,
                                         int tile, int rows_per_group, int64_t window = kQu8SpconvWindow);
struct Qu8SpconvVariant;
// The weights as variant v runs them: qu8_spconv_pack_weights(), then v's code generation if it
// is a JIT variant (for which `window` is the size of a code segment instead).
Qu8SpconvWeights qu8_spconv_pack(const Qu8SpconvVariant& v, const Qu8SpconvGeometry& g, const int8_t* w,
                                 const Qu8SpconvQuant& q, int64_t window = kQu8SpconvWindow);
// Empty when every partial sum of every output channel stays below 2^24 in magnitude (the float
// epilogue is then exact, as oneDNN's is); otherwise why not.
std::string qu8_spconv_exactness_problem(const Qu8SpconvGeometry& g, const int8_t* w, const Qu8SpconvQuant& q);

// Panel packing of one plane row: `count` pixels `stride` bytes apart (each `ic` channels) to
// their 4-byte slots, channel block c at dst + c * plane_bytes. Channels past ic get x_zero.
using Qu8SpconvPackUkernel = void (*)(size_t count, const uint8_t* src, size_t stride, size_t ic, uint8_t* dst,
                                      size_t plane_bytes, uint8_t x_zero);
// Accumulators of one tile over segments [first, last): acc[row][0, tile) for their rows, where
// `panel` is the panel address of the tile's first position. Segments of chunk 0 store, later
// chunks add.
using Qu8SpconvUkernel = void (*)(const Qu8SpconvWeights& w, size_t first, size_t last, const uint8_t* panel,
                                  int32_t* acc);
// Requantizes `count` consecutive output pixels: acc[c * acc_stride + m] for channel c and pixel
// m, to y[m * y_stride + c]; a planar epilogue to y[(c / 4) * y_stride + m * 4 + c % 4] (y_stride
// the bytes of a plane: H x W x 4).
using Qu8SpconvEpilogue = void (*)(const Qu8SpconvWeights& w, const int32_t* acc, size_t acc_stride, size_t count,
                                   uint8_t* y, size_t y_stride);

void qu8_spconv_pack_scalar(size_t count, const uint8_t* src, size_t stride, size_t ic, uint8_t* dst, size_t plane_bytes,
                            uint8_t x_zero);
void qu8_spconv_ukernel_8x1_scalar(const Qu8SpconvWeights& w, size_t first, size_t last, const uint8_t* panel, int32_t* acc);
void qu8_spconv_epilogue_scalar(const Qu8SpconvWeights& w, const int32_t* acc, size_t acc_stride, size_t count, uint8_t* y,
                                size_t y_stride);
void qu8_spconv_epilogue_planar_scalar(const Qu8SpconvWeights& w, const int32_t* acc, size_t acc_stride, size_t count,
                                       uint8_t* y, size_t plane_bytes);

void qu8_spconv_pack_avx512(size_t count, const uint8_t* src, size_t stride, size_t ic, uint8_t* dst, size_t plane_bytes,
                            uint8_t x_zero);
void qu8_spconv_ukernel_64x2_avx512vnni(const Qu8SpconvWeights& w, size_t first, size_t last, const uint8_t* panel, int32_t* acc);
void qu8_spconv_ukernel_32x4_avx512vnni(const Qu8SpconvWeights& w, size_t first, size_t last, const uint8_t* panel, int32_t* acc);
void qu8_spconv_epilogue_avx512(const Qu8SpconvWeights& w, const int32_t* acc, size_t acc_stride, size_t count, uint8_t* y,
                                size_t y_stride);
void qu8_spconv_epilogue_planar_avx512(const Qu8SpconvWeights& w, const int32_t* acc, size_t acc_stride, size_t count,
                                       uint8_t* y, size_t plane_bytes);

void qu8_spconv_pack_avx2(size_t count, const uint8_t* src, size_t stride, size_t ic, uint8_t* dst, size_t plane_bytes,
                          uint8_t x_zero);
void qu8_spconv_epilogue_avx2(const Qu8SpconvWeights& w, const int32_t* acc, size_t acc_stride, size_t count, uint8_t* y,
                              size_t y_stride);
void qu8_spconv_ukernel_16x4_avxvnni(const Qu8SpconvWeights& w, size_t first, size_t last, const uint8_t* panel, int32_t* acc);
void qu8_spconv_ukernel_16x2_avx2(const Qu8SpconvWeights& w, size_t first, size_t last, const uint8_t* panel, int32_t* acc);

void qu8_spconv_ukernel_jit_avx512vnni(const Qu8SpconvWeights& w, size_t first, size_t last, const uint8_t* panel, int32_t* acc);

// Generates a JIT variant's code from weights packed with one row per group and one chunk, in
// segments of about `segment_bytes`, and moves the blocks into it. Throws sparrow::Error
// (kResourceExhausted) when the code would be too large.
using Qu8SpconvJitPack = void (*)(Qu8SpconvWeights& w, int tile, int64_t segment_bytes);

struct Qu8SpconvVariant {
  const char* name;  // "sparse-conv-u8s8-4x1-32x4-avx512vnni": block (ic x oc), tile (positions x rows), ISA
  Isa isa;
  int tile;            // positions per microkernel call
  int rows_per_group;  // output channels per microkernel step
  int64_t min_positions;  // smaller bands (positions()) waste too much of a large tile
  Qu8SpconvPackUkernel pack;
  Qu8SpconvUkernel ukernel;
  Qu8SpconvEpilogue epilogue;
  Qu8SpconvJitPack jit = nullptr;  // set for a JIT variant
  Qu8SpconvEpilogue epilogue_planar = nullptr;  // null: the variant writes NHWC only
};

// Every variant, richest first, whether or not this CPU runs it.
const std::vector<Qu8SpconvVariant>& qu8_spconv_variants();

// The driver around the microkernels, per band. The panel of band b of NHWC image x
// [ih][iw][ic] (nothing for a planar input, read in place: qu8_spconv_panel):
void qu8_spconv_pack_band(const Qu8SpconvVariant& v, const Qu8SpconvGeometry& g, const uint8_t* x, uint8_t x_zero,
                          uint8_t* panel, int64_t b);
// The panel band b's tiles read: the packed one, or where band b starts in a planar image.
const uint8_t* qu8_spconv_panel(const Qu8SpconvGeometry& g, const uint8_t* image, const uint8_t* packed, int64_t b);
// Tiles of band b.
int64_t qu8_spconv_tiles(const Qu8SpconvVariant& v, const Qu8SpconvGeometry& g, int64_t b);
// Accumulator elements one tile needs.
size_t qu8_spconv_acc_elements(const Qu8SpconvVariant& v, const Qu8SpconvWeights& w);
// Tile `tile` of band b: its valid positions to NHWC y [oh][ow][oc] of the whole image, pixels
// g.out_stride() bytes apart (planar with g.planar_out). With a fused add, `residual` is the
// image's residual, NHWC [oh][ow][oc] (pixels oc apart) or planar; null otherwise.
void qu8_spconv_tile(const Qu8SpconvVariant& v, const Qu8SpconvGeometry& g, const Qu8SpconvWeights& w,
                     const uint8_t* panel, int64_t b, int64_t tile, int32_t* acc, const uint8_t* residual, uint8_t* y);
// The same in two steps, for weights too large to stream once per tile from L2: segments
// [first, last) of every tile of the band (each with its own acc), block after block; then each
// tile's epilogue.
void qu8_spconv_accumulate(const Qu8SpconvVariant& v, const Qu8SpconvWeights& w, const uint8_t* panel, int64_t tile,
                           size_t first, size_t last, int32_t* acc);
void qu8_spconv_finish(const Qu8SpconvVariant& v, const Qu8SpconvGeometry& g, const Qu8SpconvWeights& w, int64_t b,
                       int64_t tile, const int32_t* acc, const uint8_t* residual, uint8_t* y);
// After every tile of band b: a planar output's table and add over the band's pixels of each
// channel block at once (nothing for NHWC, where qu8_spconv_finish applies them per run).
void qu8_spconv_finish_band(const Qu8SpconvGeometry& g, const Qu8SpconvWeights& w, int64_t b, const uint8_t* residual,
                            uint8_t* y);
// Prefetches part `part` of `parts` of segments [first, last)' code or weight entries into L2,
// for a run over them that is to follow (kernels/prefetch.h).
void qu8_spconv_prefetch(const Qu8SpconvWeights& w, size_t first, size_t last, size_t part, size_t parts);
// Reads the code of a JIT variant into this core's caches before its first band (kernels/prefetch.h);
// nothing for the other variants, whose weight streams the hardware prefetches.
void qu8_spconv_load_code(const Qu8SpconvWeights& w);
// Boundaries of segment blocks of at most `bytes` of entries each (a segment larger than that
// alone): 0, ..., segment count.
std::vector<size_t> qu8_spconv_segment_blocks(const Qu8SpconvWeights& w, size_t bytes);

// The whole convolution on one variant, single-threaded: the tests' driver of the microkernels.
// x is NHWC [n][ih][iw][ic], y NHWC [n][oh][ow] with pixels g.out_stride() bytes apart (the
// residual of a fused add NHWC [n][oh][ow][oc]). Weights beyond `block_bytes` run block by block.
void qu8_spconv_run(const Qu8SpconvVariant& v, const Qu8SpconvGeometry& g, const Qu8SpconvWeights& w, int64_t n,
                    const uint8_t* x, uint8_t x_zero, uint8_t* y, size_t block_bytes = SIZE_MAX,
                    const uint8_t* residual = nullptr);

// Plain loops on dense OIHW weights with the same integer sum, epilogue, table and add (on
// qu8_vadd_reference): the oracle.
void qu8_conv_reference(const Qu8SpconvGeometry& g, int64_t n, const uint8_t* x, const int8_t* w,
                        const Qu8SpconvQuant& q, uint8_t* y, const uint8_t* residual = nullptr);

}  // namespace sparrow::kernels
