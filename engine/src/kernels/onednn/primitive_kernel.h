// One oneDNN primitive as a Sparrow kernel: binds the run's input/output pointers and any
// compile-time constants (packed weights) to the primitive's arguments.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/kernel.h"

namespace sparrow::kernels {

// The process-wide oneDNN CPU engine.
const dnnl::engine& cpu_engine();

// Attributes every Sparrow primitive uses: user-managed scratchpad, so concurrent runs never
// share oneDNN's internal one.
dnnl::primitive_attr default_attr();

struct ArgBinding {
  int arg;    // DNNL_ARG_*
  int index;  // position in KernelArgs inputs or outputs
  dnnl::memory::desc desc;
};

class PrimitiveKernel final : public Kernel {
 public:
  PrimitiveKernel(dnnl::primitive primitive, const dnnl::primitive_desc_base& pd, std::vector<ArgBinding> inputs,
                  std::vector<ArgBinding> outputs, std::vector<std::pair<int, dnnl::memory>> constants = {});

  // The output starts as a copy of this input; the primitive accumulates into it (sum post-op).
  void accumulate_into_output(int input_index) { accumulate_input_ = input_index; }

  void execute(const KernelArgs& args, ExecContext& ctx) const override;
  std::string implementation() const override { return name_; }
  size_t scratchpad_bytes() const override { return scratchpad_.get_size(); }
  size_t constant_bytes() const override;

 private:
  dnnl::primitive primitive_;
  std::vector<ArgBinding> inputs_, outputs_;
  std::vector<std::pair<int, dnnl::memory>> constants_;
  dnnl::memory::desc scratchpad_;
  std::string name_;
  int accumulate_input_ = -1;
};

// The implementation oneDNN picked, e.g. "jit:avx512_core".
std::string implementation_name(const dnnl::primitive_desc_base& pd);
// Whether that is oneDNN's scalar reference code ("ref:any", "simple_ref"...), which the rows
// decline where it would be slower than, or differ from, Sparrow's own reference.
bool is_reference_implementation(const dnnl::primitive_desc_base& pd);

// A 1-element s32 memory holding a zero point, bound as a constant of a primitive whose
// attributes give that zero point as DNNL_RUNTIME_S32_VAL.
dnnl::memory runtime_zero_point(int32_t value);

// Constant data copied into a new memory of `desc` (reordered from plain row-major `plain`).
dnnl::memory pack_constant(const void* data, const dnnl::memory::desc& plain, const dnnl::memory::desc& desc);

}  // namespace sparrow::kernels
