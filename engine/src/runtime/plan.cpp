#include "runtime/plan.h"

#include <chrono>
#include <cstring>

#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/onednn/primitive_kernel.h"
#include "kernels/thread_team.h"
#include "runtime/page_memory.h"
#include "sparrow/error.h"

namespace sparrow {

struct Plan::Context {
  std::shared_ptr<std::byte> arena;
  std::shared_ptr<std::byte> scratchpad;
  dnnl::stream stream{kernels::cpu_engine()};
};

Plan::Plan() = default;
Plan::~Plan() = default;

namespace {

// A page of slack past the end, for kernels whose vector loads run past their last element.
std::shared_ptr<std::byte> aligned_buffer(size_t bytes) { return runtime::map_pages(bytes + 4096, "activations"); }

}  // namespace

std::unique_ptr<Plan::Context> Plan::acquire() const {
  {
    std::lock_guard<std::mutex> lock(pool_mutex_);
    if (!pool_.empty()) {
      auto context = std::move(pool_.back());
      pool_.pop_back();
      return context;
    }
  }
  return new_context();
}

std::unique_ptr<Plan::Context> Plan::new_context() const {
  auto context = std::make_unique<Context>();
  context->arena = aligned_buffer(arena_bytes);
  context->scratchpad = aligned_buffer(scratchpad_bytes);
  // Touched now, so that the memory is resident from the start rather than when first run.
  std::memset(context->arena.get(), 0, arena_bytes);
  std::memset(context->scratchpad.get(), 0, scratchpad_bytes);
  return context;
}

void Plan::reserve_contexts(int count) const {
  std::lock_guard<std::mutex> lock(pool_mutex_);
  while (pool_.size() < static_cast<size_t>(count)) pool_.push_back(new_context());
}

void Plan::release(std::unique_ptr<Context> context) const {
  std::lock_guard<std::mutex> lock(pool_mutex_);
  pool_.push_back(std::move(context));
}

void Plan::check_inputs(const std::vector<Tensor>& given) const {
  if (given.size() != inputs.size()) {
    throw Error(ErrorCode::kInvalidArgument, "the model takes " + std::to_string(inputs.size()) + " input(s), " +
                                                 std::to_string(given.size()) + " given");
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TensorSpec& spec = inputs[i];
    if (given[i].empty() && num_elements(spec.shape) != 0) {
      throw Error(ErrorCode::kInvalidArgument, "input '" + spec.name + "' is an empty tensor");
    }
    if (given[i].dtype() != spec.dtype) {
      throw Error(ErrorCode::kInvalidArgument, "input '" + spec.name + "' must be " + dtype_name(spec.dtype) + ", got " +
                                                   dtype_name(given[i].dtype()));
    }
    if (given[i].shape() != spec.shape) {
      throw Error(ErrorCode::kInvalidArgument, "input '" + spec.name + "' must have shape " + shape_string(spec.shape) +
                                                   " (as compiled), got " + shape_string(given[i].shape()));
    }
  }
}

void Plan::run(const std::vector<Tensor>& given, std::vector<Tensor>& results, int threads,
               std::vector<double>* step_ms) const {
  check_inputs(given);
  results.resize(outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    const TensorSpec& spec = outputs[i];
    if (results[i].empty() || results[i].dtype() != spec.dtype || results[i].shape() != spec.shape) {
      results[i] = Tensor::uninitialized(spec.dtype, spec.shape);
    }
  }

  std::unique_ptr<Context> context = acquire();
  const bool adaptive = threads == 0;
  if (adaptive) threads = team->next();
  const auto start = std::chrono::steady_clock::now();
  try {
    const kernels::ScopedTeam scope(threads);
    execute_steps(*context, given, results, step_ms);
  } catch (const std::exception& e) {
    if (adaptive) team->abandon(threads);
    release(std::move(context));
    if (dynamic_cast<const dnnl::error*>(&e)) {
      throw Error(ErrorCode::kInternal, std::string("oneDNN failed during run: ") + e.what());
    }
    throw;
  }
  release(std::move(context));
  if (adaptive) {
    team->record(threads, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
}

void Plan::execute_steps(Context& context, const std::vector<Tensor>& given, std::vector<Tensor>& results,
                         std::vector<double>* step_ms) const {
  auto base = [&](const BufferRef& ref) -> void* {
    if (ref.storage < 0) return nullptr;
    const Storage& s = storages[ref.storage];
    std::byte* p = nullptr;
    switch (s.kind) {
      case Storage::Kind::kArena: p = context.arena.get() + s.offset; break;
      case Storage::Kind::kInput: p = static_cast<std::byte*>(const_cast<void*>(given[s.index].data())); break;
      case Storage::Kind::kOutput: p = static_cast<std::byte*>(results[s.index].data()); break;
      case Storage::Kind::kConstant: p = static_cast<std::byte*>(const_cast<void*>(constants[s.index].data())); break;
    }
    return p + ref.offset;
  };
  kernels::ExecContext exec{&context.stream, context.scratchpad.get()};
  std::vector<void*> in, out;
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& step = steps[i];
    in.clear();
    out.clear();
    for (const BufferRef& ref : step.inputs) in.push_back(base(ref));
    for (const BufferRef& ref : step.outputs) out.push_back(base(ref));
    const auto start = std::chrono::steady_clock::now();
    step.kernel->execute(kernels::KernelArgs{in, out}, exec);
    if (step_ms) {
      (*step_ms)[i] += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    }
  }
}

PlanDescription Plan::describe() const {
  PlanDescription d;
  d.num_cores = num_cores;
  d.batch_size = batch_size;
  d.isa = isa;
  d.onednn_isa = onednn_isa;
  d.arena_bytes = arena_bytes;
  d.scratchpad_bytes = scratchpad_bytes;
  for (const Tensor& t : constants) d.constant_bytes += t.bytes();
  for (const Step& step : steps) {
    d.layers.push_back(step.info);
    d.constant_bytes += step.kernel->constant_bytes();
  }
  d.inputs = inputs;
  d.outputs = outputs;
  return d;
}

}  // namespace sparrow
