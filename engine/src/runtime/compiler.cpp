// Optimised graph -> Plan: picks a kernel per node from the kernel table's rows, inserts reorders
// where a consumer needs another layout than its producer made, binds graph outputs to the
// caller's tensors, lets residual convs accumulate in place, and packs intermediates into one arena.
// GCC 12 at -O3 warns falsely that std::string's operator=(const char*), inlined into the
// compiler's LayerInfo assignments, may memcpy overlapping ranges (GCC bug 105329).
#pragma GCC diagnostic ignored "-Wrestrict"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/isa.h"
#include "kernels/kernel_filter.h"
#include "kernels/kernel_table.h"
#include "kernels/thread_team.h"
#include "ops/conv_segmented.h"
#include "ops/fused_attrs.h"
#include "runtime/cpu_capacity.h"
#include "runtime/kernel_choices.h"
#include "runtime/kernel_timer.h"
#include "runtime/layer_info.h"
#include "runtime/machine_info.h"
#include "runtime/memory_planner.h"
#include "runtime/plan.h"
#include "sparrow/error.h"

namespace sparrow::runtime {
namespace {

using Kind = Plan::Storage::Kind;
using kernels::Layout;

bool verbose() {
  static const bool on = std::getenv("SPARROW_VERBOSE") != nullptr;
  return on;
}

struct Buffer {
  int storage = -1;
  size_t offset = 0;
  DType dtype = DType::kFloat32;
  Shape shape;
  Layout layout;
};

struct PendingStep {
  std::unique_ptr<kernels::Kernel> kernel;
  std::vector<int> inputs, outputs;  // buffer ids, -1 for inputs the kernel does not read
  LayerInfo info;
  int accumulates_input = -1;
  bool stacks_inputs = false;
  std::vector<size_t> interleaved_offsets;  // Selection's
  size_t interleaved_row_bytes = 0;
};

std::string op_label(const graph::Node& node) {
  if (node.op == "ConvSegmented") return op_label(ops::inner_conv(node)) + "+SegmentedElementwise";
  std::string label = node.op;
  if (node.op == "Conv" || node.op == "QLinearConv") {
    const char* act = ops::activation_name(ops::activation_of(node.attrs));
    if (*act) label += std::string("+") + act;
    if (node.attrs.has(ops::kResidualAttr) || node.attrs.has(ops::kAddAttr)) label += "+Add";
  }
  return label;
}

// SPARROW_ADAPTIVE_THREADS=0 keeps every run on all num_cores threads (see team_sizer.h).
bool adaptive_threads() {
  const char* v = std::getenv("SPARROW_ADAPTIVE_THREADS");
  return !(v && std::string(v) == "0");
}

// "f32-conv-onednn:brgconv_1x1:avx512_core": the row, then what ran within it.
std::string kernel_label(const std::string& row, const kernels::Kernel& kernel) {
  const std::string impl = kernel.implementation();
  return impl.empty() ? row : row + ":" + impl;
}

kernels::KernelFilter kernel_filter(const CompileOptions& options) {
  std::vector<std::string> names;
  for (const kernels::KernelRow& row : kernels::kernel_table()) names.push_back(row.name);
  if (!options.kernels.empty()) return kernels::KernelFilter::parse(options.kernels, names, "CompileOptions::kernels");
  const char* env = std::getenv("SPARROW_KERNELS");
  return kernels::KernelFilter::parse(env ? env : "", names, "SPARROW_KERNELS");
}

std::string kernel_choices_path(const CompileOptions& options) {
  if (!options.kernel_choices.empty()) return options.kernel_choices;
  const char* env = std::getenv("SPARROW_KERNEL_CHOICES");
  return env ? env : "";
}

struct Chosen {
  std::string row;
  kernels::Selection selection;
};

class Compiler {
 public:
  Compiler(graph::Graph g, const CompileOptions& options)
      : g_(std::move(g)), options_(options), filter_(kernel_filter(options)), choices_(kernel_choices_path(options)) {
    plan_ = std::make_shared<Plan>();
    // Decides the process's ISA (and caps oneDNN's) before any primitive exists.
    plan_->isa = kernels::process_isa_name();
    value_buffers_.resize(g_.values.size());
    plan_->num_cores = options.num_cores > 0 ? options.num_cores : available_cores();
    auto capacity = std::make_shared<CpuCapacity>();
    plan_->team = std::make_unique<TeamSizer>(plan_->num_cores, adaptive_threads(), [capacity] { return capacity->sample(); },
                                              available_cores());
  }

  // oneDNN sizes each primitive for the thread count in force when it is created.
  std::shared_ptr<Plan> compile() {
    const kernels::ScopedTeam team(plan_->num_cores);
    bind_inputs();
    for (const graph::Node& node : g_.nodes) lower(node);
    bind_outputs();
    merge_accumulators();
    place_stacked_inputs();
    place_interleaved_inputs();
    finish();
    choices_.save();
    return plan_;
  }

 private:
  int new_storage(Kind kind, int index, size_t bytes) {
    Plan::Storage s;
    s.kind = kind;
    s.index = index;
    s.bytes = bytes;
    plan_->storages.push_back(s);
    return static_cast<int>(plan_->storages.size()) - 1;
  }

  int new_buffer(int storage, size_t offset, DType dtype, Shape shape, Layout layout) {
    buffers_.push_back({storage, offset, dtype, std::move(shape), std::move(layout)});
    return static_cast<int>(buffers_.size()) - 1;
  }

  int arena_buffer(DType dtype, const Shape& shape, const Layout& layout) {
    return new_buffer(new_storage(Kind::kArena, 0, kernels::layout_bytes(layout, dtype, shape)), 0, dtype, shape, layout);
  }

  void bind_inputs() {
    for (size_t i = 0; i < g_.inputs.size(); ++i) {
      const graph::Value& v = g_.values[g_.inputs[i]];
      plan_->inputs.push_back({v.name, v.dtype, v.shape});
      const size_t bytes = static_cast<size_t>(num_elements(v.shape)) * dtype_size(v.dtype);
      value_buffers_[g_.inputs[i]] = {
          new_buffer(new_storage(Kind::kInput, static_cast<int>(i), bytes), 0, v.dtype, v.shape, Layout::plain())};
    }
    if (!plan_->inputs.empty() && !plan_->inputs[0].shape.empty()) plan_->batch_size = plan_->inputs[0].shape[0];
  }

  // The buffer a value was produced in; constants get theirs on first use.
  int first_buffer(int value) {
    if (value_buffers_[value].empty()) {
      const graph::Value& v = g_.values[value];
      if (!v.constant) throw Error(ErrorCode::kInternal, "value '" + v.name + "' is read before it is computed");
      plan_->constants.push_back(*v.constant);
      const int storage = new_storage(Kind::kConstant, static_cast<int>(plan_->constants.size()) - 1, v.constant->bytes());
      value_buffers_[value] = {new_buffer(storage, 0, v.dtype, v.shape, Layout::plain())};
    }
    return value_buffers_[value][0];
  }

  // The value in `layout`, reordering its first buffer once if no buffer has that layout yet.
  int buffer_for(int value, const Layout& layout) {
    const int first = first_buffer(value);
    for (int b : value_buffers_[value]) {
      if (buffers_[b].layout == layout) return b;
    }
    const Buffer src = buffers_[first];
    const int dst = arena_buffer(src.dtype, src.shape, layout);
    PendingStep step;
    step.kernel = kernels::make_reorder(src.dtype, src.shape, src.layout, layout);
    step.inputs = {first};
    step.outputs = {dst};
    step.info.name = g_.values[value].name;
    step.info.op = "Reorder";
    step.info.kernel = kernel_label("x-reorder-onednn", *step.kernel);
    step.info.dtype = "x";
    step.info.layout = kernels::layout_name(layout);
    step.info.input_shapes = {src.shape};
    step.info.output_shapes = {src.shape};
    steps_.push_back(std::move(step));
    value_buffers_[value].push_back(dst);
    return dst;
  }

  // Every row that fits the node and passes the filter is asked in table order. Under kFirst
  // the first contested row that accepts is kept to be timed against the first uncontested
  // one, which ends the search; under kFastest every acceptor is timed. When nothing accepted
  // but an uncontested (dense) row was there to decline, the contested rows, the only ones whose
  // answer can change, are asked again as a last resort (SelectContext::last_resort).
  Chosen select(const kernels::SelectContext& ctx) {
    std::vector<Chosen> accepted;
    bool dense_declined = false;
    const bool first = options_.kernel_policy == KernelPolicy::kFirst;
    if (options_.optimized_kernels) {
      for (const kernels::KernelRow& row : kernels::kernel_table()) {
        if (!kernels::row_fits(row, ctx) || !filter_.allows(row.name)) continue;
        if (first && row.contested && !accepted.empty()) continue;
        if (ctx.last_resort && !row.contested) continue;
        if (auto s = try_row(row, ctx)) {
          accepted.push_back({row.name, std::move(*s)});
          if (first && !row.contested) break;
        } else {
          dense_declined = dense_declined || !row.contested;
        }
      }
    }
    if (accepted.empty() && dense_declined && !ctx.last_resort) {
      kernels::SelectContext again = ctx;
      again.last_resort = true;
      return select(again);
    }
    if (accepted.empty()) return {"reference", kernels::select_reference(ctx)};
    return accepted.size() == 1 ? std::move(accepted[0]) : fastest(std::move(accepted), ctx);
  }

  std::optional<kernels::Selection> try_row(const kernels::KernelRow& row, const kernels::SelectContext& ctx) {
    std::string why_not;
    try {
      if (auto chosen = row.select(ctx, why_not)) return chosen;
    } catch (const dnnl::error& e) {
      why_not = std::string("oneDNN: ") + e.what();
    } catch (const Error& e) {
      why_not = e.what();
    }
    if (verbose()) std::fprintf(stderr, "sparrow: %s: %s declined: %s\n", ctx.node.label().c_str(), row.name.c_str(), why_not.c_str());
    return std::nullopt;
  }

  // Kernel time only: reorders a candidate's layouts would add around it are not counted.
  Chosen fastest(std::vector<Chosen> accepted, const kernels::SelectContext& ctx) {
    // The key hashes the layer's constants: only worth it when there is a file to look in.
    std::optional<uint64_t> key;
    if (choices_.enabled()) {
      std::vector<std::string> rows;
      for (const Chosen& c : accepted) rows.push_back(c.row);
      key = KernelChoices::key(ctx, rows, plan_->num_cores, plan_->isa);
    }
    if (const std::optional<std::string> row = key ? choices_.find(*key) : std::nullopt) {
      for (Chosen& c : accepted) {
        if (c.row != *row) continue;
        if (verbose()) std::fprintf(stderr, "sparrow: %s: %s, as the kernel choices file says\n", ctx.node.label().c_str(), row->c_str());
        return std::move(c);
      }
    }
    std::vector<const kernels::Selection*> candidates;
    for (Chosen& c : accepted) {
      // Views run no kernel: nothing can be faster.
      if (!c.selection.kernel) return std::move(c);
      candidates.push_back(&c.selection);
    }
    const std::vector<double> ms = time_selections(candidates, ctx);
    size_t best = 0;
    for (size_t i = 0; i < accepted.size(); ++i) {
      if (verbose()) std::fprintf(stderr, "sparrow: %s: %s takes %.3f ms\n", ctx.node.label().c_str(), accepted[i].row.c_str(), ms[i]);
      if (ms[i] < ms[best]) best = i;
    }
    if (key) choices_.record(*key, accepted[best].row, ctx.node.label());
    return std::move(accepted[best]);
  }

  void lower(const graph::Node& node) {
    kernels::SelectContext ctx{g_, node, {}, plan_->num_cores};
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      // Constants are plain; they get a buffer only if the chosen kernel reads them at run time.
      const bool has_buffer = node.has_input(i) && !value_buffers_[node.inputs[i]].empty();
      ctx.available.push_back(has_buffer ? buffers_[value_buffers_[node.inputs[i]][0]].layout : Layout::plain());
    }
    Chosen chosen = select(ctx);
    kernels::Selection& sel = chosen.selection;

    std::vector<int> in;
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      const bool packed = std::find(sel.packed_inputs.begin(), sel.packed_inputs.end(), static_cast<int>(i)) != sel.packed_inputs.end();
      in.push_back(node.has_input(i) && !packed ? buffer_for(node.inputs[i], sel.input_layouts[i]) : -1);
    }
    if (sel.view_of_input0) {
      const Buffer src = buffers_[in[0]];
      const graph::Value& out = g_.values[node.outputs[0]];
      value_buffers_[node.outputs[0]] = {new_buffer(src.storage, src.offset, out.dtype, out.shape, sel.output_layouts[0])};
      return;
    }
    PendingStep step;
    step.inputs = in;
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      const graph::Value& out = g_.values[node.outputs[i]];
      const int b = arena_buffer(out.dtype, out.shape, sel.output_layouts[i]);
      value_buffers_[node.outputs[i]] = {b};
      step.outputs.push_back(b);
      step.info.output_shapes.push_back(out.shape);
    }
    for (int v : node.inputs) {
      if (v != graph::kNoValue) step.info.input_shapes.push_back(g_.values[v].shape);
    }
    step.info.name = node.name;
    step.info.op = op_label(node);
    step.info.kernel = kernel_label(chosen.row, *sel.kernel);
    step.info.dtype = layer_dtype(g_, node, chosen.row);
    step.info.sparsity = weight_sparsity(g_, node);
    step.info.block_sparsity = block_sparsity(g_, node);
    step.info.layout = kernels::layout_name(sel.output_layouts[0]);
    step.info.gflop = sel.gflop;
    step.accumulates_input = sel.accumulates_input;
    step.stacks_inputs = sel.stacks_inputs;
    step.interleaved_offsets = sel.interleaved_offsets;
    step.interleaved_row_bytes = sel.interleaved_row_bytes;
    step.kernel = std::move(sel.kernel);
    if (verbose()) std::fprintf(stderr, "sparrow: %s -> %s [%s]\n", node.label().c_str(), step.info.kernel.c_str(), step.info.layout.c_str());
    steps_.push_back(std::move(step));
  }

  // Graph outputs are written straight into the caller's tensors where the producing buffer is
  // a whole arena storage of its own; otherwise they are copied there.
  void bind_outputs() {
    std::vector<bool> taken(plan_->storages.size(), false);
    for (size_t i = 0; i < g_.outputs.size(); ++i) {
      const int value = g_.outputs[i];
      const graph::Value& v = g_.values[value];
      plan_->outputs.push_back({i < g_.output_names.size() ? g_.output_names[i] : v.name, v.dtype, v.shape});
      const int b = buffer_for(value, Layout::plain());
      const Buffer& buf = buffers_[b];
      Plan::Storage& s = plan_->storages[buf.storage];
      const size_t bytes = static_cast<size_t>(num_elements(v.shape)) * dtype_size(v.dtype);
      if (s.kind == Kind::kArena && !taken[buf.storage] && buf.offset == 0 && s.bytes == bytes) {
        s.kind = Kind::kOutput;
        s.index = static_cast<int>(i);
        taken[buf.storage] = true;
        continue;
      }
      PendingStep step;
      step.kernel = kernels::make_copy(bytes);
      step.inputs = {b};
      step.outputs = {new_buffer(new_storage(Kind::kOutput, static_cast<int>(i), bytes), 0, v.dtype, v.shape, Layout::plain())};
      step.info.name = plan_->outputs.back().name;
      step.info.op = "Copy";
      step.info.kernel = "x-copy-memcpy";
      step.info.dtype = "x";
      step.info.layout = "plain";
      step.info.input_shapes = step.info.output_shapes = {v.shape};
      steps_.push_back(std::move(step));
      taken.resize(plan_->storages.size(), false);
    }
  }

  // First and last step touching each storage.
  void lifetimes(std::vector<int>& first, std::vector<int>& last) const {
    first.assign(plan_->storages.size(), -1);
    last.assign(plan_->storages.size(), -1);
    for (size_t k = 0; k < steps_.size(); ++k) {
      for (const auto* list : {&steps_[k].inputs, &steps_[k].outputs}) {
        for (int b : *list) {
          if (b < 0) continue;
          const int s = buffers_[b].storage;
          if (first[s] < 0) first[s] = static_cast<int>(k);
          last[s] = static_cast<int>(k);
        }
      }
    }
  }

  bool reads_storage_elsewhere(const PendingStep& step, int storage) const {
    for (size_t i = 0; i < step.inputs.size(); ++i) {
      if (static_cast<int>(i) != step.accumulates_input && step.inputs[i] >= 0 && buffers_[step.inputs[i]].storage == storage) {
        return true;
      }
    }
    return false;
  }

  // Every buffer of storage `from` into storage `to`, `offset` bytes in.
  void move_storage(int from, int to, size_t offset) {
    for (Buffer& b : buffers_) {
      if (b.storage != from) continue;
      b.storage = to;
      b.offset += offset;
    }
  }

  // A conv that adds a residual may write into the residual's memory when nothing reads the
  // residual afterwards: it then skips copying the residual into its output.
  void merge_accumulators() {
    std::vector<int> first, last;
    lifetimes(first, last);
    for (size_t k = 0; k < steps_.size(); ++k) {
      const PendingStep& step = steps_[k];
      if (step.accumulates_input < 0) continue;
      const Buffer& r = buffers_[step.inputs[step.accumulates_input]];
      const Buffer& o = buffers_[step.outputs[0]];
      const int rs = r.storage, os = o.storage;
      const auto& storages = plan_->storages;
      if (rs == os || storages[rs].kind != Kind::kArena || storages[os].kind != Kind::kArena) continue;
      if (last[rs] != static_cast<int>(k) || first[os] != static_cast<int>(k)) continue;
      if (r.offset != 0 || o.offset != 0 || storages[rs].bytes != storages[os].bytes || !(r.layout == o.layout)) continue;
      // Conv(x) + x: the conv would overwrite its own source while reading it.
      if (reads_storage_elsewhere(step, rs)) continue;
      move_storage(os, rs, 0);
      last[rs] = last[os];
      first[os] = last[os] = -1;
    }
  }

  // A Concat whose parts are contiguous slices of its output (stacks_inputs) need not copy them:
  // when each part is a whole arena storage of its own that no step touches after the Concat,
  // and the output is first written there, the parts' producers write straight into their
  // slices and the step goes. YOLOv5's Detect joins its three decoded heads this way at batch 1.
  void place_stacked_inputs() {
    std::vector<int> first, last;
    lifetimes(first, last);
    std::vector<bool> drop(steps_.size(), false);
    for (size_t k = 0; k < steps_.size(); ++k) {
      const PendingStep& step = steps_[k];
      if (!step.stacks_inputs || step.outputs.size() != 1) continue;
      const int os = buffers_[step.outputs[0]].storage;
      if (first[os] != static_cast<int>(k) || buffers_[step.outputs[0]].offset != 0) continue;
      std::vector<int> parts;
      for (int b : step.inputs) {
        if (b < 0) break;
        const Buffer& in = buffers_[b];
        const Plan::Storage& s = plan_->storages[in.storage];
        const size_t bytes = kernels::layout_bytes(in.layout, in.dtype, in.shape);
        const bool whole = s.kind == Kind::kArena && in.offset == 0 && s.bytes == bytes;
        if (!whole || last[in.storage] != static_cast<int>(k) || std::count(parts.begin(), parts.end(), in.storage)) break;
        parts.push_back(in.storage);
      }
      if (parts.size() != step.inputs.size()) continue;
      size_t offset = 0;
      for (int part : parts) {
        move_storage(part, os, offset);
        offset += plan_->storages[part].bytes;
        first[os] = std::min(first[os], first[part]);
        first[part] = last[part] = -1;
      }
      drop[k] = true;
    }
    drop_steps(drop);
  }

  void drop_steps(const std::vector<bool>& drop) {
    size_t kept = 0;
    for (size_t k = 0; k < steps_.size(); ++k) {
      if (drop[k]) continue;
      if (kept != k) steps_[kept] = std::move(steps_[k]);  // (a vector moved onto itself empties)
      ++kept;
    }
    steps_.resize(kept);
  }

  // How many steps touch each storage.
  std::vector<int> storage_users() const {
    std::vector<int> users(plan_->storages.size(), 0);
    for (const PendingStep& step : steps_) {
      std::vector<int> seen;
      for (const auto* list : {&step.inputs, &step.outputs}) {
        for (int b : *list) {
          if (b >= 0 && std::find(seen.begin(), seen.end(), buffers_[b].storage) == seen.end()) seen.push_back(buffers_[b].storage);
        }
      }
      for (int s : seen) ++users[s];
    }
    return users;
  }

  // A channels-last Concat along its channels (Selection::interleaved_offsets) need not copy a
  // part that its producer can write straight into its slice of the output, with the output's
  // pixel stride: when the part is a whole arena storage in NHWC that only its producer writes
  // and only the Concat reads, once, and the output is first written by the Concat. The Concat
  // skips such parts, and goes when it has no other. YOLOv5's C3 blocks join two convs' outputs.
  void place_interleaved_inputs() {
    std::vector<int> first, last;
    lifetimes(first, last);
    std::vector<int> users = storage_users();
    std::vector<bool> drop(steps_.size(), false);
    for (size_t k = 0; k < steps_.size(); ++k) {
      PendingStep& step = steps_[k];
      if (step.interleaved_offsets.size() != step.inputs.size() || step.outputs.size() != 1) continue;
      const Buffer& out = buffers_[step.outputs[0]];
      const int os = out.storage;
      if (plan_->storages[os].kind != Kind::kArena || out.offset != 0 || first[os] != static_cast<int>(k)) continue;
      size_t placed = 0;
      for (size_t i = 0; i < step.inputs.size(); ++i) {
        if (!interleavable(step, i, static_cast<int>(k), first, last, users)) continue;
        const Buffer& in = buffers_[step.inputs[i]];
        const int part = in.storage, producer = first[part];
        const int64_t stride = static_cast<int64_t>(step.interleaved_row_bytes / dtype_size(in.dtype));
        if (!steps_[static_cast<size_t>(producer)].kernel->write_output_pixel_stride(stride)) continue;
        move_storage(part, os, step.interleaved_offsets[i]);
        first[os] = std::min(first[os], producer);
        first[part] = last[part] = -1;
        ++users[os];
        ++placed;
      }
      if (placed == 0) continue;
      step.info.kernel += ", " + std::to_string(placed) + " of " + std::to_string(step.inputs.size()) + " inputs written in place";
      drop[k] = placed == step.inputs.size();
    }
    drop_steps(drop);
  }

  // Whether input i of Concat step k may be written in place by its producer (above).
  bool interleavable(const PendingStep& step, size_t i, int k, const std::vector<int>& first, const std::vector<int>& last,
                     const std::vector<int>& users) const {
    if (step.inputs[i] < 0) return false;
    const Buffer& in = buffers_[step.inputs[i]];
    const Plan::Storage& s = plan_->storages[in.storage];
    if (s.kind != Kind::kArena || in.offset != 0 || s.bytes != kernels::layout_bytes(in.layout, in.dtype, in.shape)) return false;
    if (in.shape.size() != 4 || !(in.layout == kernels::nhwc_layout(in.dtype, in.shape))) return false;
    if (users[in.storage] != 2 || last[in.storage] != k || first[in.storage] >= k) return false;
    if (step.interleaved_row_bytes % dtype_size(in.dtype) != 0 || step.interleaved_offsets[i] % dtype_size(in.dtype) != 0) return false;
    // Its row is one pixel's channels (the Concat is along them), not a run along another axis.
    const size_t end = i + 1 < step.inputs.size() ? step.interleaved_offsets[i + 1] : step.interleaved_row_bytes;
    if (end - step.interleaved_offsets[i] != static_cast<size_t>(in.shape[1]) * dtype_size(in.dtype)) return false;
    for (size_t j = 0; j < step.inputs.size(); ++j) {
      if (j != i && step.inputs[j] >= 0 && buffers_[step.inputs[j]].storage == in.storage) return false;
    }
    const PendingStep& producer = steps_[static_cast<size_t>(first[in.storage])];
    return producer.outputs.size() == 1 && producer.outputs[0] == step.inputs[i] && producer.kernel != nullptr;
  }

  void finish() {
    std::vector<int> first, last;
    lifetimes(first, last);
    std::vector<LiveRange> ranges;
    std::vector<int> arena_storages;
    for (size_t s = 0; s < plan_->storages.size(); ++s) {
      if (plan_->storages[s].kind != Kind::kArena || first[s] < 0) continue;
      ranges.push_back({plan_->storages[s].bytes, first[s], last[s]});
      arena_storages.push_back(static_cast<int>(s));
    }
    const ArenaLayout arena = plan_arena(ranges);
    for (size_t i = 0; i < arena_storages.size(); ++i) plan_->storages[arena_storages[i]].offset = arena.offsets[i];
    plan_->arena_bytes = arena.total_bytes;

    for (PendingStep& pending : steps_) {
      Plan::Step step;
      auto ref = [&](int b) { return b < 0 ? Plan::BufferRef{} : Plan::BufferRef{buffers_[b].storage, buffers_[b].offset}; };
      for (int b : pending.inputs) step.inputs.push_back(ref(b));
      for (int b : pending.outputs) step.outputs.push_back(ref(b));
      plan_->scratchpad_bytes = std::max(plan_->scratchpad_bytes, pending.kernel->scratchpad_bytes());
      step.kernel = std::move(pending.kernel);
      step.info = std::move(pending.info);
      plan_->steps.push_back(std::move(step));
    }
    plan_->metadata = g_.metadata;
    plan_->onednn_isa = cpu_isa_name();
    check_memory();
  }

  // Against what the process can get, not what the machine has: a plan that passed against
  // physical memory could still fail to allocate, or get the process killed, mid-run.
  void check_memory() const {
    size_t need = plan_->arena_bytes + plan_->scratchpad_bytes;
    for (const auto* specs : {&plan_->inputs, &plan_->outputs}) {
      for (const TensorSpec& t : *specs) need += static_cast<size_t>(num_elements(t.shape)) * dtype_size(t.dtype);
    }
    const size_t limit = options_.max_memory_bytes ? options_.max_memory_bytes : available_memory_bytes();
    if (need > limit) {
      char msg[320];
      std::snprintf(msg, sizeof(msg),
                    "one run needs %.2f GiB of memory for its inputs, activations and outputs (batch size %lld), "
                    "more than the %.2f GiB this process can use; compile for a smaller batch or input size "
                    "(--batch-size, --image-size)",
                    need / 1073741824.0, static_cast<long long>(plan_->batch_size), limit / 1073741824.0);
      throw Error(ErrorCode::kResourceExhausted, msg);
    }
  }

  graph::Graph g_;
  const CompileOptions& options_;
  kernels::KernelFilter filter_;
  KernelChoices choices_;
  std::shared_ptr<Plan> plan_;
  std::vector<Buffer> buffers_;
  std::vector<std::vector<int>> value_buffers_;
  std::vector<PendingStep> steps_;
};

}  // namespace

std::shared_ptr<Plan> compile_plan(graph::Graph g, const CompileOptions& options) {
  try {
    return Compiler(std::move(g), options).compile();
  } catch (const dnnl::error& e) {
    throw Error(ErrorCode::kInternal, std::string("oneDNN failed while compiling: ") + e.what());
  }
}

}  // namespace sparrow::runtime
