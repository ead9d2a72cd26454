// Conv on an f32-spconv variant (kernels/f32_spconv.h): one kernel-table row per variant, placed
// before the dense oneDNN row, accepting only weights sparse enough to beat it. NHWC (acdb), as
// oneDNN's convolutions choose on AVX-512, so no reorder separates the two; planar (NCHW) between
// sparse convs, where it saves the transposes into and out of the panel.
#include <algorithm>
#include <cstring>

#include "kernels/f32_spconv.h"
#include "kernels/f32_spconv_jit.h"
#include "kernels/planar_readers.h"
#include "kernels/selection.h"
#include "ops/fused_attrs.h"
#include "ops/window_params.h"
#include "sparrow/error.h"

namespace sparrow::kernels {
namespace {

enum Input { kX, kW, kBias, kResidual };

// Provisional sparsity thresholds until a per-layer measurement chooses (issue 13). Measured on
// Zen 5, one thread, min of runs, yolov5l's 3x3 256@40 (4-blocks) and 1x1 512->512@20
// (unstructured): the AVX-512 rows break even with oneDNN's dense FP32 near 60 % and lose at
// 50 % (0.8x); 0.65 keeps a margin. The scalar rows only beat a vectorised dense convolution at
// extreme sparsity (a guess, not measured).
constexpr double kMinSparsityVector = 0.65;
constexpr double kMinSparsityScalar = 0.95;
// The 4x1 rows want zeros in whole blocks: a block density well above the element density means
// the blocks carry zeros that the unstructured rows would skip.
constexpr double kMaxBlockOverhead = 1.25;

class F32SpconvKernel final : public Kernel {
 public:
  F32SpconvKernel(std::unique_ptr<F32Spconv> conv, int slots, size_t output_bytes, bool residual, bool planar_out)
      : conv_(std::move(conv)), slots_(slots), output_bytes_(output_bytes), residual_(residual), planar_out_(planar_out) {}

  void execute(const KernelArgs& args, ExecContext& ctx) const override {
    auto* y = static_cast<float*>(args.outputs[0]);
    if (residual_ && args.outputs[0] != args.inputs[kResidual]) std::memcpy(y, args.inputs[kResidual], output_bytes_);
    conv_->run(static_cast<const float*>(args.inputs[kX]), y, residual_, ctx.scratchpad, slots_);
  }
  std::string implementation() const override { return conv_->summary(); }
  size_t scratchpad_bytes() const override { return static_cast<size_t>(slots_) * conv_->scratch_bytes_per_slot(); }
  size_t constant_bytes() const override { return conv_->packed_bytes(); }
  // Not with a residual, which it copies into its output whole, nor into a planar output.
  bool write_output_pixel_stride(int64_t stride) override {
    if (residual_ || planar_out_) return false;
    conv_->set_output_stride(stride);
    return true;
  }

 private:
  std::unique_ptr<F32Spconv> conv_;
  int slots_;
  size_t output_bytes_;
  bool residual_;
  bool planar_out_;
};

bool fail(std::string& why_not, std::string why) {
  why_not = std::move(why);
  return false;
}

// The node's geometry, or false with the reason it does not fit the sparse kernels.
bool conv_shape(const SelectContext& ctx, F32SpconvShape& s, std::string& why_not) {
  if (ctx.input(kX).dtype != DType::kFloat32) return fail(why_not, "input is not float32");
  if (ctx.input(kX).shape.size() != 4) return fail(why_not, "not a 2-D convolution");
  if (!ctx.constant(kW)) return fail(why_not, "weights are computed at run time");
  if (ctx.has_input(kBias) && !ctx.constant(kBias)) return fail(why_not, "bias is computed at run time");
  if (ctx.node.attrs.get_int("group", 1) != 1) return fail(why_not, "grouped convolution");
  const Shape& x = ctx.input(kX).shape;
  const Shape& w = ctx.input(kW).shape;
  const Shape& y = ctx.output(0).shape;
  if (num_elements(y) == 0) return fail(why_not, "empty output");
  const ops::WindowParams p = ops::window_params(ctx.node.attrs, {x[2], x[3]}, {w[2], w[3]}, false);
  if (p.dilations[0] != 1 || p.dilations[1] != 1) return fail(why_not, "dilated convolution");
  if (p.pads_begin[0] >= w[2] || p.pads_begin[1] >= w[3]) return fail(why_not, "padding as wide as the kernel");
  s = {x[0], x[1], x[2], x[3], w[0], w[2], w[3], p.strides[0], p.strides[1], p.pads_begin[0], p.pads_begin[1], y[2], y[3]};
  return true;
}

// The JIT row's cost model, per output and one core, fitted on kernel_bench SparseConv (yolov5l
// 3x3 256@40, 1x1 1024@20 and 1x1 512->256@40 at 50, 70, 85 and 95 %; Zen 5, 2026-12-06, best
// runs on a loaded machine): ~0.0135 ns per non-zero weight, plus ~0.0012 ns per weight, zero or
// not (the panel loads: one per offset of a register group, about every offset from 50 to 95 %),
// against dense oneDNN's ~95 GMAC/s, 0.0105 ns per weight. Within ~20 % of the measured ratio on
// those shapes; independent of the layer's size, so in effect a density threshold: 1.1x at ~62 %
// density. Groups of fewer than 31 output channels share each load among fewer rows.
double predicted_jit_speedup(const F32SpconvShape& s, double density) {
  const double rows = static_cast<double>(std::min<int64_t>(s.oc, static_cast<int64_t>(kF32SpJitRows)));
  return 0.0105 / (0.0012 * static_cast<double>(kF32SpJitRows) / rows + 0.0135 * density);
}

bool sparse_enough(const F32SpconvVariant& v, const F32SpconvShape& s, const F32SparsityProfile& profile,
                   double min_speedup, std::string& why_not) {
  if (v.jit) {
    const double predicted = predicted_jit_speedup(s, 1.0 - profile.element);
    if (predicted >= min_speedup) return true;
    return fail(why_not, "density " + std::to_string(1.0 - profile.element) + ": predicted " + std::to_string(predicted) +
                             "x of dense oneDNN, below " + std::to_string(min_speedup));
  }
  if (min_speedup == 0) return true;  // SPARROW_SPARSE_MIN_SPEEDUP=0: any weights
  const double needed = v.isa == Isa::kScalar ? kMinSparsityScalar : kMinSparsityVector;
  const double sparsity = v.block == 4 ? profile.block4 : profile.element;
  const std::string what = v.block == 4 ? "4-block sparsity " : "sparsity ";
  if (sparsity < needed) {
    return fail(why_not, what + std::to_string(sparsity) + " below " + std::to_string(needed) + ": dense is faster");
  }
  if (v.block == 4 && 1.0 - profile.block4 > kMaxBlockOverhead * (1.0 - profile.element)) {
    return fail(why_not, "zeros are not in 4-blocks (block density " + std::to_string(1.0 - profile.block4) +
                             ", element density " + std::to_string(1.0 - profile.element) + ")");
  }
  return true;
}

// Whether a Conv will likely run on a sparse row (the JIT row's cost model on its weights) and,
// if `in_place`, read a planar input in place.
bool predicted_sparse(const graph::Graph& g, const graph::Node& node, double min_speedup, bool in_place = false) {
  if (node.op != "Conv" || !node.has_input(kW)) return false;
  const SelectContext ctx{g, node, {}, 1};
  F32SpconvShape s;
  std::string why_not;
  if (!conv_shape(ctx, s, why_not) || (in_place && !f32_spconv_reads_in_place(s, kF32SpJitTile))) return false;
  const F32SparsityProfile profile = f32_sparsity_profile(s, ctx.constant(kW)->data_as<float>());
  return predicted_jit_speedup(s, 1.0 - profile.element) >= min_speedup;
}

// Planar output where the variant can write it and every reader would read it so; not where
// its channels lie a multiple of 4 KB apart (160x160 images), since the 31 rows of a tile would
// then all be stored into one L1 set (in-place readers decline those too).
bool planar_output(const F32SpconvVariant& v, const SelectContext& ctx) {
  const Shape& y = ctx.output(0).shape;
  if (!v.store_planar || (y[2] * y[3] * 4) % 4096 == 0) return false;
  const double min_speedup = std::max(sparse_min_speedup(ctx), 1e-9);
  const PlanarRules rules{ctx.graph, ctx.graph.consumers(), "Conv",
                          [&](const graph::Node& node, bool in_place) { return predicted_sparse(ctx.graph, node, min_speedup, in_place); },
                          [](const graph::Node& node) { return node.has_input(kResidual) ? static_cast<int>(kResidual) : -1; }};
  return planar_readers(rules, ctx.node.outputs[0]);
}

std::optional<Selection> select_variant(const char* name, const SelectContext& ctx, std::string& why_not) {
  const F32SpconvVariant* v = nullptr;
  for (const F32SpconvVariant& candidate : f32_spconv_variants()) {
    if (std::string(candidate.name) == name) v = &candidate;
  }
  F32SpconvShape s;
  if (!v || !conv_shape(ctx, s, why_not)) return std::nullopt;
  const float* weights = ctx.constant(kW)->data_as<float>();
  if (!sparse_enough(*v, s, f32_sparsity_profile(s, weights), sparse_min_speedup(ctx), why_not)) return std::nullopt;
  const float* bias = ctx.has_input(kBias) ? ctx.constant(kBias)->data_as<float>() : nullptr;
  const bool residual = ctx.has_input(kResidual);
  const int slots = std::max(1, ctx.num_cores);
  const F32SpconvLayouts layouts{ctx.available[kX].is_plain() && f32_spconv_reads_in_place(s, v->tile), planar_output(*v, ctx)};
  std::unique_ptr<F32Spconv> conv;
  try {
    conv = std::make_unique<F32Spconv>(s, weights, bias, ops::activation_of(ctx.node.attrs), *v, slots, layouts);
  } catch (const Error& e) {
    why_not = e.what();  // a panel too large for 32-bit offsets: the dense row takes it
    return std::nullopt;
  }
  const Shape& y = ctx.output(0).shape;
  Selection sel;
  sel.kernel = std::make_unique<F32SpconvKernel>(std::move(conv), slots, static_cast<size_t>(num_elements(y)) * sizeof(float),
                                                 residual, layouts.planar_out);
  sel.input_layouts.assign(ctx.node.inputs.size(), Layout::plain());
  if (!layouts.planar_in) sel.input_layouts[kX] = nhwc_layout(DType::kFloat32, ctx.input(kX).shape);
  sel.output_layouts = {layouts.planar_out ? Layout::plain() : nhwc_layout(DType::kFloat32, y)};
  if (residual) {
    sel.input_layouts[kResidual] = sel.output_layouts[0];
    sel.accumulates_input = kResidual;
  }
  sel.packed_inputs = {kW, kBias};
  // Dense MACs: layer_GFLOP/s then reads as effective throughput.
  sel.gflop = 2.0 * static_cast<double>(num_elements(y)) * static_cast<double>(s.ic * s.kh * s.kw) / 1e9;
  return sel;
}

}  // namespace

std::optional<Selection> select_sparse_conv_f32_jit_avx512(const SelectContext& ctx, std::string& why_not) {
  return select_variant("sparse-conv-f32-1x1-jit-avx512", ctx, why_not);
}
std::optional<Selection> select_sparse_conv_f32_4x1_avx512(const SelectContext& ctx, std::string& why_not) {
  return select_variant("sparse-conv-f32-4x1-64x1-avx512", ctx, why_not);
}
std::optional<Selection> select_sparse_conv_f32_1x1_avx512(const SelectContext& ctx, std::string& why_not) {
  return select_variant("sparse-conv-f32-1x1-64x1-avx512", ctx, why_not);
}
std::optional<Selection> select_sparse_conv_f32_4x1_avx2(const SelectContext& ctx, std::string& why_not) {
  return select_variant("sparse-conv-f32-4x1-32x1-avx2", ctx, why_not);
}
std::optional<Selection> select_sparse_conv_f32_1x1_avx2(const SelectContext& ctx, std::string& why_not) {
  return select_variant("sparse-conv-f32-1x1-32x1-avx2", ctx, why_not);
}
std::optional<Selection> select_sparse_conv_f32_4x1_scalar(const SelectContext& ctx, std::string& why_not) {
  return select_variant("sparse-conv-f32-4x1-16x1-scalar", ctx, why_not);
}
std::optional<Selection> select_sparse_conv_f32_1x1_scalar(const SelectContext& ctx, std::string& why_not) {
  return select_variant("sparse-conv-f32-1x1-16x1-scalar", ctx, why_not);
}

}  // namespace sparrow::kernels
