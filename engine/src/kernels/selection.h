// Kernel selection: a candidate (the select function of a kernel_table.h row) either declines,
// saying why (for SPARROW_VERBOSE), or returns a compiled kernel together with the memory
// layouts it needs for its inputs and produces for its outputs. The reference kernel is the
// fallback when every row declines, and always accepts.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "kernels/kernel.h"
#include "kernels/layout.h"
#include "kernels/qu8_vadd.h"

namespace sparrow::kernels {

struct SelectContext {
  const graph::Graph& graph;
  const graph::Node& node;
  // The layout each input is currently available in (plain for absent inputs and constants).
  std::vector<Layout> available;
  int num_cores = 1;
  // Every row declined, the dense one too (oneDNN's INT8 conv without VNNI, say): asked again, a
  // sparse row accepts whatever its predicted speed-up, since the dense row it would lose to
  // cannot run and the reference kernel is far slower.
  bool last_resort = false;

  const graph::Value& input(size_t i) const { return graph.values[node.inputs[i]]; }
  const graph::Value& output(size_t i) const { return graph.values[node.outputs[i]]; }
  bool has_input(size_t i) const { return node.has_input(i); }
  const Tensor* constant(size_t i) const { return has_input(i) && input(i).constant ? &*input(i).constant : nullptr; }
};

struct Selection {
  std::unique_ptr<Kernel> kernel;      // null for views
  std::vector<Layout> input_layouts;   // required layout of each input
  std::vector<Layout> output_layouts;
  // Output 0 is input 0's memory under a new shape: no kernel runs (Reshape and friends).
  bool view_of_input0 = false;
  // Output 0 starts as a copy of this input (a residual added by a sum post-op); the planner may
  // give both one buffer when the input dies here.
  int accumulates_input = -1;
  // Output 0 is input 0's bytes followed by input 1's, and so on (a Concat whose parts are
  // contiguous slices of its output): the compiler may have the producers write there instead.
  bool stacks_inputs = false;
  // Output 0 is rows of `interleaved_row_bytes`, one per pixel, input i's row at byte
  // interleaved_offsets[i] of each (a Concat of channels-last tensors along their channels): the
  // compiler may have a producer that can write its rows that far apart
  // (Kernel::write_output_pixel_stride) write straight into its slice, which the kernel then
  // skips. Empty otherwise.
  std::vector<size_t> interleaved_offsets;
  size_t interleaved_row_bytes = 0;
  // Constant inputs the kernel packed at compile time and never reads at run time.
  std::vector<int> packed_inputs;
  double gflop = 0;
};

using Candidate = std::optional<Selection> (*)(const SelectContext& ctx, std::string& why_not);

// The predicted speed-up over the dense row below which a sparse row with a cost model declines:
// 1.1, or SPARROW_SPARSE_MIN_SPEEDUP (0: any weights, as kernel_bench sets it); 0 as a last
// resort. Throws sparrow::Error for a value that is not a number >= 0.
double sparse_min_speedup(const SelectContext& ctx);

// The reference fallback: plain layouts everywhere.
Selection select_reference(const SelectContext& ctx);

// Candidates by family, defined next to their kernels.
std::optional<Selection> select_view(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_onednn_conv(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_sparse_conv_f32_jit_avx512(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_sparse_conv_f32_4x1_avx512(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_sparse_conv_f32_1x1_avx512(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_sparse_conv_f32_4x1_avx2(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_sparse_conv_f32_1x1_avx2(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_sparse_conv_f32_4x1_scalar(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_sparse_conv_f32_1x1_scalar(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_onednn_deconv(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_onednn_qlinear_conv(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_onednn_qlinear_conv_f32(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_qu8_spconv_jit_avx512vnni(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_qu8_spconv_64x2_avx512vnni(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_qu8_spconv_32x4_avx512vnni(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_qu8_spconv_avxvnni(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_qu8_spconv_avx2(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_qu8_spconv_scalar(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_qu8_add_avx512(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_qu8_add_avx2(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_qu8_add_scalar(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_x8_lut_avx512vbmi(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_x8_lut_avx2(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_x8_lut_scalar(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_segmented_elementwise(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_conv_segmented(const SelectContext& ctx, std::string& why_not);
// Not rows: oneDNN's conv rows with channels-last activations whatever the ISA prefers, for the
// bands of select_conv_segmented, which lie in NHWC memory.
std::optional<Selection> select_onednn_conv_nhwc(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_onednn_qlinear_conv_f32_nhwc(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_onednn_quantize(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_f32_qu8_quantize_nhwc_16_avx512vbmi(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_onednn_dequantize(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_onednn_pool(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_onednn_resample(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_concat_copy(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_onednn_concat(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_onednn_eltwise(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_onednn_binary(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_onednn_matmul(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_onednn_transpose(const SelectContext& ctx, std::string& why_not);
std::optional<Selection> select_onednn_slice(const SelectContext& ctx, std::string& why_not);

// A reorder between two layouts of one tensor (inserted by the compiler where layouts differ).
std::unique_ptr<Kernel> make_reorder(DType dtype, const Shape& shape, const Layout& from, const Layout& to);
// A QLinearConv's fused residual add (ops::kAddAttr) and the input that holds the residual.
struct FusedResidualAdd {
  Qu8ResidualAdd add;
  int input = -1;
};
// Its parameters, or nullopt with why_not set when they are not constant u8 grids. Without the
// attribute, nullopt and why_not empty.
std::optional<FusedResidualAdd> fused_residual_add(const SelectContext& ctx, std::string& why_not);
// A QLinearConv row's inputs from 1 on: packed at compile time, but for a fused add's residual,
// which the kernel reads at run time in its output's layout (s.output_layouts must be set).
void pack_inputs_but_residual(Selection& s, const SelectContext& ctx, const std::optional<FusedResidualAdd>& add);
// `inner`, then each byte of its output 0 (`bytes` of them, one per element) through a QLinearConv's
// fused steps that it does not apply itself: the table (ops::kTableAttr; null for none), then the
// residual add, which reads the residual at the same positions.
std::unique_ptr<Kernel> with_output_steps(std::unique_ptr<Kernel> inner, const Tensor* table,
                                          const std::optional<FusedResidualAdd>& add, size_t bytes);
// A plain byte copy (graph outputs that alias another buffer).
std::unique_ptr<Kernel> make_copy(size_t bytes);

}  // namespace sparrow::kernels
