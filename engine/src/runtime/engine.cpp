#include "sparrow/engine.h"

#include <malloc.h>

#include <algorithm>
#include <exception>
#include <mutex>

#include "kernels/thread_team.h"
#include "onnx/onnx_importer.h"
#include "passes/passes.h"
#include "runtime/machine_info.h"
#include "runtime/plan.h"
#include "runtime/random_inputs.h"
#include "sparrow/error.h"

namespace sparrow {
namespace {

std::shared_ptr<const Plan> build(graph::Graph g, CompileOptions options) {
  if (options.num_cores < 0) throw Error(ErrorCode::kInvalidArgument, "num_cores must be >= 0");
  // Read once: the passes refuse any one value larger than this before kernels are made for it,
  // the compiler a plan whose run needs more.
  if (options.max_memory_bytes == 0) options.max_memory_bytes = runtime::available_memory_bytes();
  passes::optimize(g, options);
  std::shared_ptr<const Plan> plan = runtime::compile_plan(std::move(g), options);
  // Compiling frees the import's copies of the weights (float weights folded from INT8 ones, say);
  // glibc keeps such freed heap for reuse, so a served model would otherwise carry it for good.
  malloc_trim(0);
  return plan;
}

}  // namespace

int available_cores() { return runtime::available_cores(); }

Engine::Engine(std::shared_ptr<const Plan> plan) : plan_(std::move(plan)) {}

Engine Engine::load(const std::string& path, const CompileOptions& options) {
  graph::Graph g = onnx_import::import_model_file(path);
  try {
    return Engine(build(std::move(g), options));
  } catch (const Error& e) {
    throw Error(e.code(), "'" + path + "': " + e.what());
  }
}

Engine Engine::load_from_bytes(const std::string& bytes, const CompileOptions& options, const std::string& base_dir) {
  return Engine(build(onnx_import::import_model(bytes, base_dir), options));
}

const std::vector<TensorSpec>& Engine::inputs() const { return plan_->inputs; }
const std::vector<TensorSpec>& Engine::outputs() const { return plan_->outputs; }
int64_t Engine::batch_size() const { return plan_->batch_size; }
int Engine::num_cores() const { return plan_->num_cores; }
const std::map<std::string, std::string>& Engine::metadata() const { return plan_->metadata; }

std::vector<Tensor> Engine::run(const std::vector<Tensor>& inputs, Threads threads) const {
  std::vector<Tensor> outputs;
  run(inputs, outputs, threads);
  return outputs;
}

void Engine::run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs, Threads threads) const {
  plan_->run(inputs, outputs, threads == Threads::kOne ? 1 : 0);
}

void Engine::parallel_for(size_t n, const std::function<void(size_t)>& fn, Threads threads) const {
  std::exception_ptr first;
  std::mutex mutex;
  const kernels::ScopedTeam team(threads == Threads::kOne ? 1 : plan_->team->current());
#pragma omp parallel for schedule(dynamic, 1)
  for (size_t i = 0; i < n; ++i) {
    try {
      fn(i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!first) first = std::current_exception();
    }
  }
  if (first) std::rethrow_exception(first);
}

int64_t Engine::single_thread_runs() const { return plan_->team->single_thread_runs(); }

void Engine::reserve_concurrent_runs(int runs) const { plan_->reserve_contexts(runs); }

PlanDescription Engine::describe() const { return plan_->describe(); }

PlanDescription Engine::profile(int iterations) const {
  if (iterations < 1) throw Error(ErrorCode::kInvalidArgument, "profile needs at least one iteration");
  const std::vector<Tensor> inputs = runtime::random_inputs(plan_->inputs, 0);
  std::vector<Tensor> outputs;
  std::vector<double> step_ms(plan_->steps.size(), 0.0);
  // The whole team, whatever the machine does, so that the times describe the layers.
  plan_->run(inputs, outputs, plan_->num_cores, &step_ms);  // warm up: page faults, oneDNN's JIT caches
  std::fill(step_ms.begin(), step_ms.end(), 0.0);
  for (int i = 0; i < iterations; ++i) plan_->run(inputs, outputs, plan_->num_cores, &step_ms);
  PlanDescription d = plan_->describe();
  for (size_t i = 0; i < d.layers.size(); ++i) d.layers[i].time_ms = step_ms[i] / iterations;
  return d;
}

}  // namespace sparrow
