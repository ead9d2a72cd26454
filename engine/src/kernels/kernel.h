// The kernel interface: one compiled implementation of one (possibly fused) node. Kernels are
// immutable after compilation, so one instance serves every concurrent run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dnnl {
struct stream;
}

namespace sparrow::kernels {

// Per-run state a kernel may use: the run's oneDNN stream and a scratch buffer of at least
// scratchpad_bytes().
struct ExecContext {
  dnnl::stream* stream = nullptr;
  void* scratchpad = nullptr;
};

// Pointers to the kernel's inputs and outputs for one run, in the node's input/output order
// (nullptr for an absent optional input). Memory is laid out as the kernel asked at compile time.
struct KernelArgs {
  const std::vector<void*>& inputs;
  const std::vector<void*>& outputs;
};

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual void execute(const KernelArgs& args, ExecContext& ctx) const = 0;
  // Which implementation within its kernel-table row runs, for describe(): oneDNN's choice
  // ("brgconv_1x1:avx512_core"); empty for kernels that are the whole of their row.
  virtual std::string implementation() const { return {}; }
  virtual size_t scratchpad_bytes() const { return 0; }
  // Memory the kernel holds for packed constants (weights).
  virtual size_t constant_bytes() const { return 0; }
  // Asks the kernel to write its channels-last output 0 with `stride` elements from one pixel to
  // the next instead of its channel count: into its channel slice of a wider tensor, a Concat's,
  // which then need not copy it. Called while compiling only; whether the kernel now does so.
  virtual bool write_output_pixel_stride(int64_t stride) {
    (void)stride;
    return false;
  }
};

}  // namespace sparrow::kernels
