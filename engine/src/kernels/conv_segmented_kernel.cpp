// ConvSegmented (ops/conv_segmented.h) band by band of pixel rows: each thread runs the 1x1
// conv for its band into an L2-sized slot of the scratchpad, with the conv's own oneDNN row
// compiled for the band's shape and one thread, then decodes the band's rows from there into
// the output. The head's floats are written once, to the output, where the unfused conv wrote
// them to memory and the decode read them back.
#include <omp.h>

#include <algorithm>

#include "kernels/layout.h"
#include "kernels/selection.h"
#include "kernels/thread_team.h"
#include "ops/conv_segmented.h"

namespace sparrow::kernels {
namespace {

// A band's conv output stays in a 1 MB L2 beside its input and the weights.
constexpr int64_t kBandBytes = 256 * 1024;
constexpr size_t kAlign = 64;
constexpr int64_t kRowsPerChunk = 64;  // 22 KB of YOLOv5 rows, as the unfused kernel takes them

size_t aligned(size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

struct Bands {
  int64_t n = 0, c = 0, o = 0, h = 0, w = 0;  // the conv's input and output dims
  int64_t rows = 1;                           // pixel rows per band, a divisor of h
  int64_t planes = 1;                         // output rows per pixel: the view's middle dims
  int64_t per_image() const { return h / rows; }
  size_t out_bytes() const { return static_cast<size_t>(rows * w * o) * sizeof(float); }
};

// A u8 input the band's conv reads as floats (x - zero), band by band; `zero` < 0 for none.
struct InputWidening {
  int32_t zero = -1;
  bool on() const { return zero >= 0; }
};

class ConvSegmentedKernel final : public Kernel {
 public:
  ConvSegmentedKernel(std::unique_ptr<Kernel> conv, Bands bands, size_t x_size, ops::SegmentPlan plan,
                      std::vector<Tensor> constants, int threads, InputWidening widening)
      : conv_(std::move(conv)), bands_(bands), x_size_(x_size), plan_(std::move(plan)),
        constants_(std::move(constants)), threads_(std::max(1, threads)), widening_(widening) {
    for (const Tensor& c : constants_) operands_.push_back({c.data_as<float>(), c.size()});
  }

  void execute(const KernelArgs& args, ExecContext& ctx) const override {
    const auto* x = static_cast<const std::byte*>(args.inputs[0]);
    auto* y = static_cast<float*>(args.outputs[0]);
    auto* scratch = static_cast<std::byte*>(ctx.scratchpad);
    const int team = std::min(omp_get_max_threads(), threads_);
    const int64_t items = bands_.n * bands_.per_image();
#pragma omp parallel for schedule(static) num_threads(team)
    for (int64_t item = 0; item < items; ++item) {
      run_band(x, y, scratch + static_cast<size_t>(omp_get_thread_num()) * slot_bytes(), item, ctx);
    }
  }

  std::string implementation() const override {
    return conv_->implementation() + (widening_.on() ? " on widened u8" : "") + ", " + std::to_string(bands_.rows) +
           "-row bands";
  }
  size_t scratchpad_bytes() const override { return static_cast<size_t>(threads_) * slot_bytes(); }
  size_t constant_bytes() const override {
    size_t bytes = conv_->constant_bytes();
    for (const Tensor& c : constants_) bytes += c.bytes();
    return bytes;
  }

 private:
  size_t in_bytes() const {
    return widening_.on() ? static_cast<size_t>(bands_.rows * bands_.w * bands_.c) * sizeof(float) : 0;
  }
  size_t slot_bytes() const { return aligned(bands_.out_bytes()) + aligned(conv_->scratchpad_bytes()) + aligned(in_bytes()); }

  // The band's input as the conv reads it: in place, or widened to floats at `to`.
  void* band_input(const std::byte* x, int64_t first, std::byte* to) const {
    const std::byte* in = x + static_cast<size_t>(first * bands_.c) * x_size_;
    if (!widening_.on()) return const_cast<std::byte*>(in);
    const auto* u8 = reinterpret_cast<const uint8_t*>(in);
    auto* f = reinterpret_cast<float*>(to);
    const size_t n = in_bytes() / sizeof(float);
    for (size_t i = 0; i < n; ++i) f[i] = static_cast<float>(static_cast<int32_t>(u8[i]) - widening_.zero);
    return f;
  }

  // Band `item` of all images': the conv into the slot, with its scratchpad after it, then the
  // band's rows of each plane decoded from there, in chunks that stay in L1 between the steps.
  void run_band(const std::byte* x, float* y, std::byte* slot, int64_t item, const ExecContext& ctx) const {
    const Bands& b = bands_;
    const int64_t image = item / b.per_image(), pixel = item % b.per_image() * b.rows * b.w;
    const int64_t first = image * b.h * b.w + pixel;  // the band's first pixel over all images
    std::byte* conv_scratch = slot + aligned(b.out_bytes());
    std::vector<void*> in = {band_input(x, first, conv_scratch + aligned(conv_->scratchpad_bytes()))};
    std::vector<void*> out = {slot};
    ExecContext band_ctx{ctx.stream, conv_scratch};
    conv_->execute(KernelArgs{in, out}, band_ctx);
    const auto* band = reinterpret_cast<const float*>(slot);
    for (int64_t p = 0; p < b.planes; ++p) {
      const int64_t begin = (image * b.planes + p) * b.h * b.w + pixel, end = begin + b.rows * b.w;
      for (int64_t r = begin; r < end; r += kRowsPerChunk) {
        ops::run_segments(plan_, band, operands_, y, r, std::min(r + kRowsPerChunk, end), first * b.o);
      }
    }
  }

  std::unique_ptr<Kernel> conv_;
  Bands bands_;
  size_t x_size_;
  ops::SegmentPlan plan_;
  std::vector<Tensor> constants_;
  std::vector<ops::SegmentOperand> operands_;
  int threads_;
  InputWidening widening_;
};

// The largest divisor of h whose rows of conv output fit kBandBytes (at least one row).
int64_t band_rows(const Bands& b) {
  int64_t best = 1;
  for (int64_t r = 1; r <= b.h; ++r) {
    if (b.h % r == 0 && r * b.w * b.o * static_cast<int64_t>(sizeof(float)) <= kBandBytes) best = r;
  }
  return best;
}

// The conv alone, on one band of one image: the graph its row is selected on.
struct BandConv {
  graph::Graph graph;
  graph::Node node;
};

BandConv band_conv(const SelectContext& ctx, const Bands& b) {
  BandConv band;
  band.node = ops::inner_conv(ctx.node);
  for (int& v : band.node.inputs) {
    if (v == graph::kNoValue) continue;
    const graph::Value& value = ctx.graph.values[v];
    const int id = value.constant ? band.graph.add_constant(value.name, *value.constant) : band.graph.add_value(value.name);
    band.graph.values[id].dtype = value.dtype;
    band.graph.values[id].shape = value.shape;
    band.graph.values[id].typed = true;
    v = id;
  }
  band.graph.values[band.node.inputs[0]].shape = {1, b.c, b.rows, b.w};
  const int y = band.graph.add_value(ctx.graph.values[ctx.node.outputs[0]].name + ":band");
  band.graph.values[y].shape = {1, b.o, b.rows, b.w};
  band.graph.values[y].typed = true;
  band.node.outputs = {y};
  return band;
}

// The conv's own oneDNN row for the band, planned for the one thread that runs each band.
std::optional<Selection> select_band_conv(const BandConv& band, DType x_type, std::string& why_not) {
  SelectContext band_ctx{band.graph, band.node, {}, 1};
  band_ctx.available.assign(band.node.inputs.size(), Layout::plain());
  band_ctx.available[0] = nhwc_layout(x_type, band.graph.values[band.node.inputs[0]].shape);
  std::optional<Selection> s;
  {
    const ScopedTeam one(1);  // restored when oneDNN throws too: later primitives get the whole team
    s = band.node.op == "Conv" ? select_onednn_conv_nhwc(band_ctx, why_not)
                               : select_onednn_qlinear_conv_f32_nhwc(band_ctx, why_not);
  }
  if (!s) return s;
  const Shape& bx = band.graph.values[band.node.inputs[0]].shape;
  const Shape& by = band.graph.values[band.node.outputs[0]].shape;
  if (!(s->input_layouts[0] == nhwc_layout(x_type, bx)) || !(s->output_layouts[0] == nhwc_layout(DType::kFloat32, by))) {
    why_not = "the band's conv is not channels-last (" + layout_name(s->input_layouts[0]) + " -> " +
              layout_name(s->output_layouts[0]) + ")";
    return std::nullopt;
  }
  return s;
}

// The QLinearConv band as a float Conv on (x - x_zero), for where oneDNN declines its u8 one (on
// a CPU without VNNI, weights beyond +-63): weights (w - w_zero) * w_scale * x_scale and the float
// bias. The head's output is float either way; float sums differ from the exact integer ones by
// rounding only, where the reference kernel, the alternative, runs ~30x slower.
// Empty when the QLinearConv's input is not u8 or a weight or quantization parameter is computed
// at run time.
std::optional<BandConv> widened_band_conv(const BandConv& band, DType x_type, InputWidening& widening) {
  enum { kX, kXScale, kXZero, kW, kWScale, kWZero, kYScale, kYZero, kBias };
  const graph::Graph& g = band.graph;
  const graph::Node& q = band.node;
  if (x_type != DType::kUint8) return std::nullopt;
  for (int i : {kXScale, kXZero, kW, kWScale, kWZero, kBias}) {
    if (q.has_input(static_cast<size_t>(i)) && !g.values[q.inputs[static_cast<size_t>(i)]].constant) return std::nullopt;
    if (i != kBias && !q.has_input(static_cast<size_t>(i))) return std::nullopt;
  }
  const auto constant = [&](int i) -> const Tensor& { return *g.values[q.inputs[static_cast<size_t>(i)]].constant; };
  const Tensor& w = constant(kW);
  const Tensor& w_scale = constant(kWScale);
  const Tensor& w_zero = constant(kWZero);
  const float x_scale = constant(kXScale).data_as<float>()[0];
  const int64_t channels = w.shape()[0], per_channel = w.size() / channels;
  Tensor wf(DType::kFloat32, w.shape());
  const std::vector<int64_t> wz = w_zero.to_int64_vector();
  for (int64_t i = 0; i < w.size(); ++i) {
    const int64_t c = w_scale.size() > 1 ? i / per_channel : 0;
    const int64_t v = w.dtype() == DType::kInt8 ? w.data_as<int8_t>()[i] : w.data_as<uint8_t>()[i];
    wf.data_as<float>()[i] = static_cast<float>(v - wz[static_cast<size_t>(c)]) * (w_scale.data_as<float>()[c] * x_scale);
  }
  widening.zero = static_cast<int32_t>(constant(kXZero).to_int64_vector()[0]);
  BandConv f;
  f.node = q;
  f.node.op = "Conv";
  const int x = f.graph.add_value(g.values[q.inputs[kX]].name);
  f.graph.values[x].dtype = DType::kFloat32;
  f.graph.values[x].shape = g.values[q.inputs[kX]].shape;
  f.graph.values[x].typed = true;
  const int wv = f.graph.add_constant(g.values[q.inputs[kW]].name + ":widened", std::move(wf));
  f.node.inputs = {x, wv};
  if (q.has_input(kBias)) f.node.inputs.push_back(f.graph.add_constant(g.values[q.inputs[kBias]].name, constant(kBias).clone()));
  for (int v : f.node.inputs) f.graph.values[v].typed = true;
  const int y = f.graph.add_value(g.values[q.outputs[0]].name);
  f.graph.values[y] = g.values[q.outputs[0]];
  f.node.outputs = {y};
  return f;
}

// The view's element strides over the channels-last conv output: its middle dims split the
// channels row-major.
std::vector<int64_t> view_strides(const Shape& view, const Bands& b) {
  std::vector<int64_t> strides(view.size());
  const size_t r = view.size();
  strides[0] = b.h * b.w * b.o;
  strides[r - 2] = b.w * b.o;
  strides[r - 1] = b.o;
  int64_t inner = 1;
  for (size_t d = r - 2; d-- > 1;) {
    strides[d] = inner;
    inner *= view[d];
  }
  return strides;
}

}  // namespace

std::optional<Selection> select_conv_segmented(const SelectContext& ctx, std::string& why_not) {
  const auto n = static_cast<size_t>(ctx.node.attrs.get_int(ops::kConvInputsAttr, 0));
  const size_t weights = ctx.node.attrs.get_string(ops::kConvOpAttr, "") == "Conv" ? 1 : 3;
  const Shape& x = ctx.input(0).shape;
  if (n <= weights || x.size() != 4 || !ops::pointwise_conv(ctx.node.attrs, ctx.input(weights).shape)) {
    why_not = "not a 1x1, stride-1, unpadded, ungrouped 2-D conv";
    return std::nullopt;
  }
  const Shape view = ctx.node.attrs.get_ints(ops::kViewAttr);
  Bands b{x[0], x[1], ctx.input(weights).shape[0], x[2], x[3]};
  b.rows = band_rows(b);
  // Output rows must run over (image, the other middle dims, pixel): the segments' axis is a
  // middle dim of the view.
  const int64_t k = ctx.node.attrs.get_int("from_axis", -1);
  if (k < 1 || k + 2 >= static_cast<int64_t>(view.size())) {
    why_not = "the segments do not run along the view's channel dims";
    return std::nullopt;
  }
  const BandConv band = band_conv(ctx, b);
  const DType x_type = ctx.input(0).dtype;
  InputWidening widening;
  std::optional<Selection> conv = select_band_conv(band, x_type, why_not);
  if (!conv && band.node.op == "QLinearConv") {
    if (std::optional<BandConv> widened = widened_band_conv(band, x_type, widening)) {
      std::string widened_why;
      conv = select_band_conv(*widened, DType::kFloat32, widened_why);
      if (!conv) why_not += "; in float: " + widened_why;
    }
  }
  if (!conv) return std::nullopt;

  Selection s;
  std::vector<Tensor> constants;
  std::vector<int64_t> sizes;
  for (size_t i = n; i < ctx.node.inputs.size(); ++i) {
    if (!ctx.constant(i)) {
      why_not = "operand " + std::to_string(i) + " is computed at run time";
      return std::nullopt;
    }
    constants.push_back(ctx.constant(i)->clone());
    sizes.push_back(constants.back().size());
  }
  const Shape y = {b.n, b.o, b.h, b.w};
  s.input_layouts.assign(ctx.node.inputs.size(), Layout::plain());
  s.input_layouts[0] = nhwc_layout(ctx.input(0).dtype, x);
  for (size_t i = 1; i < ctx.node.inputs.size(); ++i) s.packed_inputs.push_back(static_cast<int>(i));
  s.output_layouts = {Layout::plain()};
  ops::SegmentPlan plan = ops::conv_segment_plan(ctx.node, y, sizes, view_strides(view, b));
  b.planes = plan.rows / (b.n * b.h * b.w);
  s.gflop = conv->gflop * static_cast<double>(b.n * b.per_image());
  s.kernel = std::make_unique<ConvSegmentedKernel>(std::move(conv->kernel), b, dtype_size(x_type), std::move(plan),
                                                   std::move(constants), ctx.num_cores, widening);
  return s;
}

}  // namespace sparrow::kernels
