#include "runtime/kernel_timer.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <random>

#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/onednn/primitive_kernel.h"
#include "runtime/page_memory.h"

namespace sparrow::runtime {
namespace {

constexpr int kRuns = 5;

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

}  // namespace

double time_selection(const kernels::Selection& selection, const kernels::SelectContext& ctx) {
  std::mt19937 rng(1);
  std::vector<Buffer> owned;
  std::vector<void*> inputs, outputs;
  const auto& packed = selection.packed_inputs;
  for (size_t i = 0; i < ctx.node.inputs.size(); ++i) {
    if (!ctx.has_input(i) || std::find(packed.begin(), packed.end(), static_cast<int>(i)) != packed.end()) {
      inputs.push_back(nullptr);
      continue;
    }
    const graph::Value& v = ctx.input(i);
    const size_t bytes = kernels::layout_bytes(selection.input_layouts[i], v.dtype, v.shape);
    owned.push_back(allocate(bytes));
    fill(owned.back().get(), bytes, v.dtype, rng);
    inputs.push_back(owned.back().get());
  }
  for (size_t i = 0; i < ctx.node.outputs.size(); ++i) {
    const graph::Value& v = ctx.output(i);
    owned.push_back(allocate(kernels::layout_bytes(selection.output_layouts[i], v.dtype, v.shape)));
    outputs.push_back(owned.back().get());
  }
  Buffer scratchpad = allocate(selection.kernel->scratchpad_bytes());
  dnnl::stream stream(kernels::cpu_engine());
  kernels::ExecContext exec{&stream, scratchpad.get()};
  const kernels::KernelArgs args{inputs, outputs};
  std::vector<double> ms;
  for (int r = 0; r <= kRuns; ++r) {
    const auto start = std::chrono::steady_clock::now();
    selection.kernel->execute(args, exec);
    stream.wait();
    if (r > 0) ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::nth_element(ms.begin(), ms.begin() + kRuns / 2, ms.end());
  return ms[kRuns / 2];
}

}  // namespace sparrow::runtime
