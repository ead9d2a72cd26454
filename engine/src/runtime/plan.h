// The compiled plan: kernels in execution order, where every buffer lives, and the per-run
// contexts (arena, scratchpad, oneDNN stream) that let run() be called from many threads.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "kernels/kernel.h"
#include "runtime/team_sizer.h"
#include "sparrow/engine.h"

namespace sparrow {

class Plan {
 public:
  struct Storage {
    enum class Kind { kArena, kInput, kOutput, kConstant };
    Kind kind = Kind::kArena;
    int index = 0;          // input/output position, or constant index
    size_t offset = 0;      // arena offset
    size_t bytes = 0;
  };
  struct BufferRef {
    int storage = -1;  // -1: an absent optional input
    size_t offset = 0;
  };
  struct Step {
    std::unique_ptr<kernels::Kernel> kernel;
    std::vector<BufferRef> inputs, outputs;
    LayerInfo info;
  };

  Plan();
  ~Plan();

  std::vector<Step> steps;
  std::vector<Storage> storages;
  std::vector<Tensor> constants;
  size_t arena_bytes = 0;
  size_t scratchpad_bytes = 0;
  int num_cores = 1;
  int64_t batch_size = 1;
  std::string isa, onednn_isa;
  std::vector<TensorSpec> inputs, outputs;
  std::map<std::string, std::string> metadata;
  // How many of the num_cores threads each run uses (all, or one while the cores are contended).
  std::unique_ptr<runtime::TeamSizer> team;

  // Runs one batch into `outputs` (reusing tensors of the right dtype and shape) on `threads`
  // threads (1 or num_cores; 0: as `team` chooses, and the run's time goes back to it). step_ms,
  // when given, accumulates each step's time in milliseconds.
  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs, int threads = 0,
           std::vector<double>* step_ms = nullptr) const;
  PlanDescription describe() const;
  // Makes sure the pool holds `count` contexts, so that as many concurrent runs allocate nothing.
  void reserve_contexts(int count) const;

 private:
  struct Context;
  std::unique_ptr<Context> acquire() const;
  std::unique_ptr<Context> new_context() const;
  void release(std::unique_ptr<Context> context) const;
  void check_inputs(const std::vector<Tensor>& inputs) const;
  void execute_steps(Context& context, const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs,
                     std::vector<double>* step_ms) const;

  mutable std::mutex pool_mutex_;
  mutable std::vector<std::unique_ptr<Context>> pool_;
};

namespace runtime {
// Kernel selection, layouts, reorders and memory planning for an optimised graph.
std::shared_ptr<Plan> compile_plan(graph::Graph g, const CompileOptions& options);
}  // namespace runtime

}  // namespace sparrow
