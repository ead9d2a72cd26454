#include "runtime/kernel_timer.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <memory>
#include <random>

#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/onednn/primitive_kernel.h"
#include "runtime/page_memory.h"

namespace sparrow::runtime {
namespace {

constexpr int kRounds = 5;

using Buffer = std::shared_ptr<std::byte>;

// Whole pages, unmapped when timing ends (runtime/page_memory.h says why not malloc).
Buffer allocate(size_t bytes) { return map_pages(bytes, "a kernel timing buffer"); }

// Floats in [-1, 1) (random bits could be NaNs or denormals, which time differently); other
// data types get random bytes.
void fill(std::byte* p, size_t bytes, DType dtype, std::mt19937& rng) {
  if (dtype == DType::kFloat32) {
    std::uniform_real_distribution<float> u(-1.0f, 1.0f);
    auto* f = reinterpret_cast<float*>(p);
    for (size_t i = 0; i < bytes / sizeof(float); ++i) f[i] = u(rng);
    return;
  }
  for (size_t i = 0; i < bytes; ++i) p[i] = static_cast<std::byte>(rng());
}

// A reorder the plan would run before the candidate: an input it wants in another layout than
// the one it is available in.
struct InputReorder {
  std::unique_ptr<kernels::Kernel> kernel;
  Buffer from;
  void* to = nullptr;
  Buffer scratchpad;
};

// One candidate's buffers, filled once, and the reorders of its inputs: a candidate that reads
// an input as it is made saves the plan a pass over it, which its time should show.
class Timed {
 public:
  Timed(const kernels::Selection& selection, const kernels::SelectContext& ctx) : kernel_(*selection.kernel) {
    std::mt19937 rng(1);
    const auto& packed = selection.packed_inputs;
    for (size_t i = 0; i < ctx.node.inputs.size(); ++i) {
      if (!ctx.has_input(i) || std::find(packed.begin(), packed.end(), static_cast<int>(i)) != packed.end()) {
        inputs_.push_back(nullptr);
        continue;
      }
      const graph::Value& v = ctx.input(i);
      const size_t bytes = kernels::layout_bytes(selection.input_layouts[i], v.dtype, v.shape);
      owned_.push_back(allocate(bytes));
      fill(owned_.back().get(), bytes, v.dtype, rng);
      inputs_.push_back(owned_.back().get());
      const kernels::Layout& available = ctx.available[i];
      if (v.constant || available == selection.input_layouts[i]) continue;
      const size_t from_bytes = kernels::layout_bytes(available, v.dtype, v.shape);
      InputReorder r{kernels::make_reorder(v.dtype, v.shape, available, selection.input_layouts[i]), allocate(from_bytes),
                     inputs_.back(), nullptr};
      fill(r.from.get(), from_bytes, v.dtype, rng);
      r.scratchpad = allocate(r.kernel->scratchpad_bytes());
      reorders_.push_back(std::move(r));
    }
    for (size_t i = 0; i < ctx.node.outputs.size(); ++i) {
      const graph::Value& v = ctx.output(i);
      owned_.push_back(allocate(kernels::layout_bytes(selection.output_layouts[i], v.dtype, v.shape)));
      outputs_.push_back(owned_.back().get());
    }
    scratchpad_ = allocate(kernel_.scratchpad_bytes());
  }

  double run_ms(dnnl::stream& stream) {
    kernels::ExecContext exec{&stream, scratchpad_.get()};
    const auto start = std::chrono::steady_clock::now();
    for (const InputReorder& r : reorders_) {
      kernels::ExecContext own{&stream, r.scratchpad.get()};
      r.kernel->execute(kernels::KernelArgs{{r.from.get()}, {r.to}}, own);
    }
    kernel_.execute(kernels::KernelArgs{inputs_, outputs_}, exec);
    stream.wait();
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }

 private:
  const kernels::Kernel& kernel_;
  std::vector<Buffer> owned_;
  std::vector<void*> inputs_, outputs_;
  std::vector<InputReorder> reorders_;
  Buffer scratchpad_;
};

}  // namespace

std::vector<double> time_selections(const std::vector<const kernels::Selection*>& candidates,
                                    const kernels::SelectContext& ctx) {
  std::vector<std::unique_ptr<Timed>> timed;
  for (const kernels::Selection* s : candidates) timed.push_back(std::make_unique<Timed>(*s, ctx));
  dnnl::stream stream(kernels::cpu_engine());
  for (auto& t : timed) t->run_ms(stream);  // warm-up: page faults, caches
  std::vector<double> best(timed.size(), std::numeric_limits<double>::infinity());
  for (int round = 0; round < kRounds; ++round) {
    for (size_t i = 0; i < timed.size(); ++i) best[i] = std::min(best[i], timed[i]->run_ms(stream));
  }
  return best;
}

}  // namespace sparrow::runtime
