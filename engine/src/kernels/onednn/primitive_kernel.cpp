#include "kernels/onednn/primitive_kernel.h"

#include <cstring>
#include <unordered_map>

namespace sparrow::kernels {

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::primitive_attr default_attr() {
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

std::string implementation_name(const dnnl::primitive_desc_base& pd) {
  return pd.impl_info_str();
}

bool is_reference_implementation(const dnnl::primitive_desc_base& pd) {
  return implementation_name(pd).find("ref") != std::string::npos;
}

PrimitiveKernel::PrimitiveKernel(dnnl::primitive primitive, const dnnl::primitive_desc_base& pd,
                                 std::vector<ArgBinding> inputs, std::vector<ArgBinding> outputs,
                                 std::vector<std::pair<int, dnnl::memory>> constants)
    : primitive_(std::move(primitive)),
      inputs_(std::move(inputs)),
      outputs_(std::move(outputs)),
      constants_(std::move(constants)),
      scratchpad_(pd.scratchpad_desc()),
      name_(implementation_name(pd)) {}

void PrimitiveKernel::execute(const KernelArgs& args, ExecContext& ctx) const {
  const dnnl::engine& engine = cpu_engine();
  if (accumulate_input_ >= 0 && args.outputs[0] != args.inputs[accumulate_input_]) {
    std::memcpy(args.outputs[0], args.inputs[accumulate_input_], outputs_[0].desc.get_size());
  }
  std::unordered_map<int, dnnl::memory> bound;
  for (const ArgBinding& b : inputs_) bound.emplace(b.arg, dnnl::memory(b.desc, engine, args.inputs[b.index]));
  for (const ArgBinding& b : outputs_) bound.emplace(b.arg, dnnl::memory(b.desc, engine, args.outputs[b.index]));
  for (const auto& [arg, memory] : constants_) bound.emplace(arg, memory);
  if (scratchpad_.get_size()) bound.emplace(DNNL_ARG_SCRATCHPAD, dnnl::memory(scratchpad_, engine, ctx.scratchpad));
  primitive_.execute(*ctx.stream, bound);
}

size_t PrimitiveKernel::constant_bytes() const {
  size_t bytes = 0;
  for (const auto& [arg, memory] : constants_) bytes += memory.get_desc().get_size();
  return bytes;
}

dnnl::memory runtime_zero_point(int32_t value) {
  dnnl::memory m(dnnl::memory::desc({1}, dnnl::memory::data_type::s32, dnnl::memory::format_tag::x), cpu_engine());
  std::memcpy(m.get_data_handle(), &value, sizeof(value));
  return m;
}

dnnl::memory pack_constant(const void* data, const dnnl::memory::desc& plain, const dnnl::memory::desc& desc) {
  const dnnl::engine& engine = cpu_engine();
  dnnl::memory src(plain, engine, const_cast<void*>(data));
  dnnl::memory dst(desc, engine);
  dnnl::stream stream(engine);
  dnnl::reorder(src, dst).execute(stream, src, dst);
  stream.wait();
  return dst;
}

}  // namespace sparrow::kernels
