// QLinearConv on qu8-spconv (kernels/qu8_spconv.h): one kernel-table row per ISA variant, placed
// before the dense oneDNN row, which it must equal byte for byte. NHWC in and out, the layouts
// oneDNN's int8 convolutions use, so sparse and dense layers chain without reorders; planar
// (channel blocks of 4) between sparse convs where the reader takes it in place.
//
// Declines what it does not implement (groups, dilation, a fused float activation, s8 output, a
// weight zero point, parameters computed at run time, sums beyond float's exact range) and
// layers where a cost model predicts less than 1.1x over dense oneDNN (predicted_speedup()); the
// compiler times what it accepts against the dense row (a contested row). SPARROW_SPARSE_MIN_SPEEDUP
// overrides the 1.1 (0 accepts any weights, as kernel_bench does).
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <numeric>

#include "kernels/planar_readers.h"
#include "kernels/qu8_spconv.h"
#include "kernels/qu8_spconv_jit.h"
#include "kernels/selection.h"
#include "ops/fused_attrs.h"
#include "ops/window_params.h"
#include "sparrow/error.h"

namespace sparrow::kernels {
namespace {

enum Input { kX, kXScale, kXZero, kW, kWScale, kWZero, kYScale, kYZero, kBias };

// The cost model, per output and one core, fitted on kernel_bench SparseQConv (yolov5l shapes,
// 50-95 %; Zen 5, 2026-12-05): sparse ~0.31 ns (packing and requantization) plus 0.0256 ns per
// non-zero block, 0.0316 ns where taps shift by a pixel (kw > 1: unaligned panel loads); dense
// oneDNN ~390 GMAC/s, i.e. 0.0103 ns per block of 4 MACs whether zero or not. It is within ~10 %
// of the measured ratio on 3x3 256->256 at 40x40 and 1x1 1024->1024 at 20x20 from 50 to 95 %
// (e.g. 0.96x measured, 1.03x predicted, for the 3x3 at 70 %), within ~25 % on the other
// yolov5l shapes at 85 %. Its consequences: nothing below 33 blocks per output (1x1 convs from
// fewer than 132 channels, the 6x6 first layer), and nothing above a block density of 37 %
// (1x1) or 30 % (3x3). Since the fit the epilogue got faster: the 1x1 128->128 at 80x80 now runs
// at 1.1-1.2x, but at 160x160 still at 0.6-0.8x, so the model stays conservative there.
double predicted_speedup(const Qu8SpconvGeometry& g, int64_t blocks) {
  const double per_output = static_cast<double>(g.cb * g.kh * g.kw);
  const double density = static_cast<double>(blocks) / (per_output * static_cast<double>(g.oc));
  const double per_block = g.kw > 1 ? 0.0316 : 0.0256;
  return 0.0103 * per_output / (0.31 + per_block * per_output * density);
}

// The JIT row's model, per output and one core, refitted after the epilogue's packs (b399a43) on
// kernel_bench SparseQConv (1 core, Zen 5, 2026-12-06; 1x1 from 32 to 1024 channels, 3x3 at
// stride 1 and 2; 70-95 %): ~0.12 ns plus 0.0152 ns per non-zero block, twice that per block once
// the code and its weights (~13 bytes per block) outgrow a 1 MB L2 and stream from L3 every tile
// (the 1x1 1024->1024 at 50 % ran at 0.8x of oneDNN). Dense oneDNN on the same shapes: ~0.096 ns
// plus 0.0085 ns per block of 4 MACs. Within ~15 % of both measured times from 64 channels up;
// optimistic on narrower inputs (32->32 1x1 at 160x160: 1.19x predicted, 0.86x measured; the 6x6
// first layer at 85 %: 2.0x, 1.26x), which the compiler's timing of contested rows then declines.
// The model before, fitted on the old epilogue, put 1x1 convs below 132 channels at 0.3-0.7x;
// they measured 1.4-2.0x (64->64 at 80x80, 128->128 at 40x40 and 80x80, 85 %).
double predicted_jit_speedup(const Qu8SpconvGeometry& g, int64_t blocks) {
  const double per_output = static_cast<double>(g.cb * g.kh * g.kw);
  const double density = static_cast<double>(blocks) / (per_output * static_cast<double>(g.oc));
  const double per_block = static_cast<double>(blocks) * 13 > 1024.0 * 1024 ? 0.0304 : 0.0152;
  return (0.096 + 0.0085 * per_output) / (0.12 + per_block * per_output * density);
}

// Weight streams beyond this (entries of all output channels) no longer stay in a 1 MB L2 next
// to the panel from one tile to the next: they run block by block over every tile of a band
// instead, the tiles' sums parked in the scratchpad. Measured on the yolov5l 3x3 256@40 shape
// (kernel_bench, 1 core): 590 KB of weights at 50 % ran at a third of the rate of 354 KB at 70 %.
// The JIT row's code segments count likewise (code and weights): on 1 core, at 85 %, running the
// 3x3 512@20 and the 1x1 2048->1024@20 (~1 MB of code each) in blocks of 384 KB over all tiles
// ran 1.3x faster than the whole code once per tile (768 KB blocks: about as fast as 384).
constexpr size_t kL2Weights = 384 * 1024;
// A band's panel, packed and then read by its tiles, stays in L2 beside the weights. Measured:
// with whole images as panels, the 1x1 128->128 at 160x160 (1.6 MB of panel) ran at half of
// oneDNN's dense rate.
constexpr int64_t kBandBytes = 256 * 1024;

class Qu8SpconvKernel final : public Kernel {
 public:
  Qu8SpconvKernel(const Qu8SpconvVariant& v, const Qu8SpconvGeometry& g, Qu8SpconvWeights w, int64_t n, uint8_t x_zero,
                  int residual_input, int threads)
      : v_(v), g_(g), w_(std::move(w)), n_(n), x_zero_(x_zero), residual_input_(residual_input), threads_(std::max(1, threads)),
        blocks_(qu8_spconv_segment_blocks(w_, kL2Weights)) {}

  // Bands of all images are the threads' work items: each packs its panel and runs its tiles.
  void execute(const KernelArgs& args, ExecContext& ctx) const override {
    const auto* x = static_cast<const uint8_t*>(args.inputs[kX]);
    const auto* residual = residual_input_ >= 0 ? static_cast<const uint8_t*>(args.inputs[static_cast<size_t>(residual_input_)]) : nullptr;
    auto* y = static_cast<uint8_t*>(args.outputs[0]);
    auto* scratch = static_cast<uint8_t*>(ctx.scratchpad);
    const int team = std::min(omp_get_max_threads(), threads_);
    const int64_t items = n_ * g_.bands();
#pragma omp parallel num_threads(team)
    {
      // Code that is not blocked (kL2Weights) stays in L2 beside a band's panel (kBandBytes) from
      // one band to the next: a thread's first band fetches it, from memory at each inference.
      // Blocked code is evicted by its last block, so every band fetches it again, from L3.
      bool first = true;
#pragma omp for schedule(static)
      for (int64_t item = 0; item < items; ++item) {
        uint8_t* slot = scratch + static_cast<size_t>(omp_get_thread_num()) * thread_bytes();
        run_band(x, residual, y, slot, item, first);
        first = false;
      }
    }
  }

  std::string implementation() const override {
    char text[160];
    const double dense = static_cast<double>(g_.oc * g_.kh * g_.kw * g_.cb);
    std::snprintf(text, sizeof(text), "bcsr 1x4 density %.1f%%, %ld blocks, %ld chunks, %zu weight blocks, %ld-row bands",
                  100.0 * static_cast<double>(w_.blocks) / dense, static_cast<long>(w_.blocks), static_cast<long>(w_.chunks),
                  blocks_.size() - 1, static_cast<long>(g_.band));
    std::string label = text;
    if (g_.planar_in) label += ", planar input read in place";
    if (g_.planar_out) label += ", planar output";
    if (w_.lookup) label += std::string(", table on ") + x8_lut_best_variant().name;
    if (w_.add) label += std::string(", add on ") + qu8_vadd_best_variant().name;
    return label;
  }
  size_t scratchpad_bytes() const override { return static_cast<size_t>(threads_) * thread_bytes(); }
  bool write_output_pixel_stride(int64_t stride) override {
    if (g_.planar_out) return false;
    g_.y_stride = stride;
    return true;
  }
  size_t constant_bytes() const override {
    return (w_.jit ? w_.jit->bytes() : 0) + w_.entries.size() * sizeof(Qu8SpconvEntry) + (w_.rows.size() + 2 * w_.segment_steps.size() + 3 * w_.comp.size()) * 4;
  }

 private:
  bool blocked() const { return blocks_.size() > 2; }

  // Band `item` (of all images' bands) with the thread's panel and accumulators at `slot`.
  void run_band(const uint8_t* x, const uint8_t* residual, uint8_t* y, uint8_t* slot, int64_t item, bool first) const {
    const int64_t image = item / g_.bands(), b = item % g_.bands();
    auto* acc = reinterpret_cast<int32_t*>(slot + panel_bytes());
    uint8_t* out = y + image * g_.oh * g_.ow * g_.out_stride();
    const uint8_t* image_residual = residual ? residual + image * g_.oh * g_.ow * g_.oc : nullptr;
    // The first weight block's code streams into L2 while the panel is packed, and each next one
    // a slice per tile of the block before it. Before its first band, a thread also reads what
    // of the whole code did not come (kernels/prefetch.h).
    if (first || blocked()) qu8_spconv_prefetch(w_, blocks_[0], blocks_[1], 0, 1);
    const uint8_t* image_x = x + image * g_.ih * g_.iw * g_.ic;
    qu8_spconv_pack_band(v_, g_, image_x, x_zero_, slot, b);
    const uint8_t* panel = qu8_spconv_panel(g_, image_x, slot, b);
    if (first) qu8_spconv_load_code(w_);
    const int64_t tiles = qu8_spconv_tiles(v_, g_, b);
    if (!blocked()) {
      for (int64_t t = 0; t < tiles; ++t) qu8_spconv_tile(v_, g_, w_, panel, b, t, acc, image_residual, out);
      qu8_spconv_finish_band(g_, w_, b, image_residual, out);
      return;
    }
    for (size_t k = 0; k + 1 < blocks_.size(); ++k) {
      for (int64_t t = 0; t < tiles; ++t) {
        if (k + 2 < blocks_.size()) qu8_spconv_prefetch(w_, blocks_[k + 1], blocks_[k + 2], static_cast<size_t>(t), static_cast<size_t>(tiles));
        qu8_spconv_accumulate(v_, w_, panel, t, blocks_[k], blocks_[k + 1], tile_acc(acc, t));
      }
    }
    for (int64_t t = 0; t < tiles; ++t) qu8_spconv_finish(v_, g_, w_, b, t, tile_acc(acc, t), image_residual, out);
    qu8_spconv_finish_band(g_, w_, b, image_residual, out);
  }

  size_t panel_bytes() const { return (g_.panel_bytes() + 63) / 64 * 64; }
  size_t acc_elements() const { return (qu8_spconv_acc_elements(v_, w_) + 15) / 16 * 16; }
  // One thread's panel and accumulators (of every tile of a band when blocked).
  size_t thread_bytes() const {
    const size_t tiles = blocked() ? static_cast<size_t>(qu8_spconv_tiles(v_, g_, 0)) : 1;
    return panel_bytes() + tiles * acc_elements() * 4;
  }
  int32_t* tile_acc(int32_t* acc, int64_t t) const { return acc + static_cast<size_t>(t) * acc_elements(); }

  const Qu8SpconvVariant& v_;
  Qu8SpconvGeometry g_;
  Qu8SpconvWeights w_;
  int64_t n_;
  uint8_t x_zero_;
  int residual_input_;  // the fused add's residual, -1 for none
  int threads_;
  std::vector<size_t> blocks_;  // segment boundaries of the weight blocks
};

// Output rows per band: a panel of at most kBandBytes, and a number of bands (over the batch) that
// is a multiple of the threads, so that they share the work evenly.
int64_t band_rows(const Qu8SpconvGeometry& g, int64_t n, int threads) {
  const int64_t row_bytes = g.phases() * g.cb * g.wq * 4;
  const int64_t halo = (g.kh - 1) / g.sh;
  const int64_t fit = std::max<int64_t>(1, kBandBytes / row_bytes - halo);
  int64_t bands = (g.oh + fit - 1) / fit;
  const int64_t per_round = std::max<int64_t>(1, (threads + n - 1) / n);  // bands per image for one round of threads
  bands = (bands + per_round - 1) / per_round * per_round;
  return (g.oh + std::min(bands, g.oh) - 1) / std::min(bands, g.oh);
}

bool declined(std::string& why_not, const std::string& why) {
  why_not = why;
  return false;
}

bool supported(const SelectContext& ctx, int residual, std::string& why_not) {
  for (size_t i = 1; i < ctx.node.inputs.size(); ++i) {
    if (ctx.has_input(i) && !ctx.constant(i) && static_cast<int>(i) != residual) return declined(why_not, "weights or quantization parameters are computed at run time");
  }
  if (ctx.node.inputs.size() <= kYZero || !ctx.has_input(kXZero) || !ctx.has_input(kYZero)) {
    return declined(why_not, "needs explicit zero points");
  }
  if (ctx.input(kX).dtype != DType::kUint8 || ctx.input(kW).dtype != DType::kInt8 || ctx.output(0).dtype != DType::kUint8) {
    return declined(why_not, "needs u8 activations, s8 weights and a u8 output");
  }
  if (ctx.input(kX).shape.size() != 4) return declined(why_not, "needs a 2-D convolution");
  if (ctx.node.attrs.get_int("group", 1) != 1) return declined(why_not, "grouped convolution");
  if (ops::activation_of(ctx.node.attrs) != ops::Activation::kNone) return declined(why_not, "a fused float activation");
  const Tensor& w_zero = *ctx.constant(kWZero);
  for (int64_t i = 0; i < w_zero.size(); ++i) {
    if (w_zero.data_as<int8_t>()[i] != 0) return declined(why_not, "weights have a zero point other than 0");
  }
  return num_elements(ctx.output(0).shape) > 0 || declined(why_not, "empty output");
}

Qu8SpconvQuant quant_of(const SelectContext& ctx) {
  Qu8SpconvQuant q;
  q.x_zero = ctx.constant(kXZero)->data_as<uint8_t>()[0];
  q.y_zero = ctx.constant(kYZero)->data_as<uint8_t>()[0];
  q.x_scale = ctx.constant(kXScale)->data_as<float>()[0];
  q.y_scale = ctx.constant(kYScale)->data_as<float>()[0];
  const Tensor& ws = *ctx.constant(kWScale);
  q.w_scale.assign(ws.data_as<float>(), ws.data_as<float>() + ws.size());
  if (const Tensor* b = ctx.constant(kBias)) q.bias.assign(b->data_as<int32_t>(), b->data_as<int32_t>() + b->size());
  if (ctx.node.attrs.get_int(ops::kTableAttr, 0) != 0) {
    const Tensor& t = *ctx.constant(ops::kTableInput);
    q.table.assign(t.data_as<uint8_t>(), t.data_as<uint8_t>() + t.size());
  }
  return q;
}

std::optional<Qu8SpconvGeometry> geometry_of(const SelectContext& ctx, std::string& why_not) {
  const Shape& x = ctx.input(kX).shape;
  const Shape& w = ctx.input(kW).shape;
  const ops::WindowParams p = ops::window_params(ctx.node.attrs, {x.begin() + 2, x.end()}, {w.begin() + 2, w.end()}, false);
  if (p.dilations[0] != 1 || p.dilations[1] != 1) {
    why_not = "dilated convolution";
    return std::nullopt;
  }
  Qu8SpconvGeometry g;
  g.ih = x[2], g.iw = x[3], g.ic = x[1], g.oc = w[0], g.kh = w[2], g.kw = w[3];
  g.sh = p.strides[0], g.sw = p.strides[1];
  g.pad_top = p.pads_begin[0], g.pad_left = p.pads_begin[1], g.pad_bottom = p.pads_end[0], g.pad_right = p.pads_end[1];
  g.oh = p.out[0], g.ow = p.out[1];
  g = qu8_spconv_geometry(g);
  g.band = band_rows(g, x[0], ctx.num_cores);
  g = qu8_spconv_geometry(g);
  // Offsets are int32 bytes.
  if (g.panel_bytes() >= (size_t{1} << 31)) {
    why_not = "the packed input would exceed 2 GB";
    return std::nullopt;
  }
  return g;
}

// The geometry reading a planar input in place, bands rounded up to whole tiles; nullopt where the
// conv cannot (qu8_spconv_reads_in_place).
std::optional<Qu8SpconvGeometry> in_place_geometry(Qu8SpconvGeometry g, int tile) {
  const int64_t step = tile / std::gcd(g.ow, static_cast<int64_t>(tile));
  g.band = std::min(g.oh, (g.band + step - 1) / step * step);
  if (!qu8_spconv_reads_in_place(g, tile)) return std::nullopt;
  g.planar_in = true;
  return qu8_spconv_geometry(g);
}

// Whether a QLinearConv will likely run on the JIT row (its cost model) and, if `in_place`, read a
// planar input in place.
bool predicted_sparse(const graph::Graph& graph, const graph::Node& node, int cores, double min_speedup, bool in_place) {
  if (node.op != "QLinearConv") return false;
  const SelectContext ctx{graph, node, {}, cores};
  std::string why_not;
  const std::optional<FusedResidualAdd> add = fused_residual_add(ctx, why_not);
  if (!why_not.empty() || !supported(ctx, add ? add->input : -1, why_not)) return false;
  std::optional<Qu8SpconvGeometry> g = geometry_of(ctx, why_not);
  if (g && in_place) g = in_place_geometry(*g, kQu8SpconvJitTile);
  if (!g) return false;
  return predicted_jit_speedup(*g, qu8_spconv_count_blocks(*g, ctx.constant(kW)->data_as<int8_t>())) >= min_speedup;
}

// The input a QLinearConv adds as its fused residual, or -1.
int residual_input(const graph::Graph& graph, const graph::Node& node) {
  std::string why_not;
  const std::optional<FusedResidualAdd> add = fused_residual_add(SelectContext{graph, node, {}, 1}, why_not);
  return add ? add->input : -1;
}

// A planar output where the variant has a planar epilogue, the channels are whole blocks, the
// planes are not a multiple of 4 KB (160x160), and every reader would take it so.
bool planar_output(const Qu8SpconvVariant& v, const SelectContext& ctx) {
  const Shape& y = ctx.output(0).shape;
  if (!v.epilogue_planar || y[1] % 4 != 0 || (y[2] * y[3] * 4) % 4096 == 0) return false;
  const double min_speedup = std::max(sparse_min_speedup(ctx), 1e-9);
  const PlanarRules rules{ctx.graph, ctx.graph.consumers(), "QLinearConv",
                          [&](const graph::Node& node, bool in_place) {
                            return predicted_sparse(ctx.graph, node, ctx.num_cores, min_speedup, in_place);
                          },
                          [&](const graph::Node& node) { return residual_input(ctx.graph, node); }, 4};
  return planar_readers(rules, ctx.node.outputs[0]);
}

std::optional<Selection> select_with(const Qu8SpconvVariant& v, const SelectContext& ctx, std::string& why_not) {
  const std::optional<FusedResidualAdd> add = fused_residual_add(ctx, why_not);
  if (!why_not.empty()) return std::nullopt;
  if (!supported(ctx, add ? add->input : -1, why_not)) return std::nullopt;
  std::optional<Qu8SpconvGeometry> g = geometry_of(ctx, why_not);
  if (!g) return std::nullopt;
  const Shape& xs = ctx.input(kX).shape;
  const Shape& ys = ctx.output(0).shape;
  if (ctx.available[kX] == channel_block4_layout(DType::kUint8, xs)) {
    if (std::optional<Qu8SpconvGeometry> in_place = in_place_geometry(*g, v.tile)) g = in_place;
  }
  g->planar_out = planar_output(v, ctx);
  if (g->positions() < v.min_positions) {
    why_not = "a band of " + std::to_string(g->positions()) + " positions is too small for this tile";
    return std::nullopt;
  }
  const int8_t* w = ctx.constant(kW)->data_as<int8_t>();
  const int64_t blocks = qu8_spconv_count_blocks(*g, w);
  const double speedup = v.jit ? predicted_jit_speedup(*g, blocks) : predicted_speedup(*g, blocks);
  if (speedup < sparse_min_speedup(ctx)) {
    char text[128];
    std::snprintf(text, sizeof(text), "1x4-block density %.2f, %ld blocks per output: predicted %.2fx of dense oneDNN",
                  static_cast<double>(blocks) / static_cast<double>(g->oc * g->cb * g->kh * g->kw),
                  static_cast<long>(g->cb * g->kh * g->kw), speedup);
    why_not = text;
    return std::nullopt;
  }
  Qu8SpconvQuant q = quant_of(ctx);
  if (add) q.add = add->add;
  why_not = qu8_spconv_exactness_problem(*g, w, q);
  if (!why_not.empty()) return std::nullopt;

  Selection s;
  s.kernel = std::make_unique<Qu8SpconvKernel>(v, *g, qu8_spconv_pack(v, *g, w, q), xs[0],
                                               static_cast<uint8_t>(q.x_zero), add ? add->input : -1, ctx.num_cores);
  s.input_layouts.assign(ctx.node.inputs.size(), Layout::plain());
  s.input_layouts[kX] = g->planar_in ? channel_block4_layout(DType::kUint8, xs) : nhwc_layout(DType::kUint8, xs);
  s.output_layouts = {g->planar_out ? channel_block4_layout(DType::kUint8, ys) : nhwc_layout(DType::kUint8, ys)};
  pack_inputs_but_residual(s, ctx, add);
  s.gflop = 2.0 * static_cast<double>(num_elements(ys)) * static_cast<double>(g->ic * g->kh * g->kw) / 1e9;
  return s;
}

const Qu8SpconvVariant& variant(Isa isa, int tile) {
  for (const Qu8SpconvVariant& v : qu8_spconv_variants()) {
    if (v.isa == isa && v.tile == tile) return v;
  }
  return qu8_spconv_variants().back();
}

const Qu8SpconvVariant& variant(Isa isa) {
  for (const Qu8SpconvVariant& v : qu8_spconv_variants()) {
    if (v.isa == isa) return v;
  }
  return qu8_spconv_variants().back();
}

}  // namespace

std::optional<Selection> select_qu8_spconv_jit_avx512vnni(const SelectContext& ctx, std::string& why_not) {
  for (const Qu8SpconvVariant& v : qu8_spconv_variants()) {
    if (v.jit) return select_with(v, ctx, why_not);
  }
  return std::nullopt;
}
std::optional<Selection> select_qu8_spconv_64x2_avx512vnni(const SelectContext& ctx, std::string& why_not) {
  return select_with(variant(Isa::kAvx512Vnni, 64), ctx, why_not);
}
std::optional<Selection> select_qu8_spconv_32x4_avx512vnni(const SelectContext& ctx, std::string& why_not) {
  return select_with(variant(Isa::kAvx512Vnni, 32), ctx, why_not);
}
std::optional<Selection> select_qu8_spconv_avxvnni(const SelectContext& ctx, std::string& why_not) {
  return select_with(variant(Isa::kAvxVnni), ctx, why_not);
}
std::optional<Selection> select_qu8_spconv_avx2(const SelectContext& ctx, std::string& why_not) {
  return select_with(variant(Isa::kAvx2), ctx, why_not);
}
std::optional<Selection> select_qu8_spconv_scalar(const SelectContext& ctx, std::string& why_not) {
  return select_with(variant(Isa::kScalar), ctx, why_not);
}

}  // namespace sparrow::kernels
