// sparrow::Engine: compile an ONNX model for a fixed input shape, then run it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sparrow/tensor.h"

namespace sparrow {

struct TensorSpec {
  std::string name;
  DType dtype = DType::kFloat32;
  Shape shape;
};

// How a node's kernel is chosen among the kernel-table rows that accept it.
enum class KernelPolicy {
  kFirst,    // the first in table order (each op's rows are in order of preference), but a
             // sparse row is timed against the dense row after it
  kFastest,  // the fastest, each timed on the node's compiled shape
};

struct CompileOptions {
  // Overrides for the first input's dims (N, and H, W of an NCHW image input). 0 keeps the
  // model's own value; a dynamic batch defaults to 1, a dynamic height or width to 640
  // (ultralytics' default image size; a line on stderr says so).
  int64_t batch_size = 0;
  int64_t height = 0;
  int64_t width = 0;
  // Full shapes per input name; these win over the three fields above.
  std::map<std::string, Shape> input_shapes;
  // Inputs bound to fixed values at compile time (they are folded like constants).
  std::map<std::string, Tensor> frozen_inputs;
  // Threads used by one run(); 0 means every core this process may use. While another process
  // keeps those cores busy, runs measure themselves faster on one thread and use one
  // (SPARROW_ADAPTIVE_THREADS=0 turns that off: docs/architecture.md, "Threads").
  int num_cores = 0;
  // false runs everything on the plain reference kernels: the oracle for differential tests.
  bool optimized_kernels = true;
  // Which kernel-table rows may run, by name: comma-separated patterns, '*' any characters,
  // "-pattern" denies (e.g. "f32-conv-*,-*-onednn"). Empty means the SPARROW_KERNELS variable's
  // value, and every row when that is unset too. Reference kernels remain the fallback.
  std::string kernels;
  KernelPolicy kernel_policy = KernelPolicy::kFirst;
  // A file of per-layer kernel choices (sparse or dense, where both accept and the compiler times
  // them): choices found there are taken without timing, new ones are added. Empty means the
  // SPARROW_KERNEL_CHOICES variable's value, and no file when that is unset too.
  std::string kernel_choices;
  // Upper bound on the memory of one run (inputs, activations, outputs); 0 means what this
  // process can still get: the smaller of its cgroup's memory limit left and MemAvailable.
  size_t max_memory_bytes = 0;
};

// One executed layer of a compiled plan.
struct LayerInfo {
  std::string name;    // the ONNX node name(s) it came from
  std::string op;      // op after fusion, e.g. "Conv+SiLU+Add"
  // kernel-table row, then the implementation within it where there is a choice:
  // "f32-conv-onednn:brgconv_1x1:avx512_core", "x-concat-memcpy", "reference"
  std::string kernel;
  std::string layout;  // output memory layout, e.g. "nChw16c" or "plain"
  // What it computes on, as kernel-row names spell it: "f32", "qu8" (u8 activations with s8
  // weights or u8 operands on their own grids), "u8" (8-bit values moved), "x" (any type moved).
  std::string dtype;
  double sparsity = 0;  // fraction of its constant weights that are exactly zero (0 without weights)
  // Convolutions: fraction of their weight blocks of 4 consecutive input channels (at one output
  // channel and tap) that are all zero, the unit the sparse INT8 kernels skip.
  double block_sparsity = 0;
  std::vector<Shape> input_shapes;
  std::vector<Shape> output_shapes;
  double gflop = 0;    // per run, for ops where it is meaningful
  double time_ms = 0;  // mean measured time per run (profile only)
};

struct PlanDescription {
  int num_cores = 0;
  int64_t batch_size = 0;
  std::string isa;            // Sparrow's kernels' instruction set, e.g. "avx512vbmi" (kernels/isa.h)
  std::string onednn_isa;     // oneDNN's, e.g. "avx512_core_bf16"
  size_t arena_bytes = 0;     // activation memory of one concurrent run
  size_t scratchpad_bytes = 0;  // the kernels' working memory of one concurrent run
  size_t constant_bytes = 0;  // weights as packed for the kernels
  std::vector<LayerInfo> layers;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
};

// Layers by what they run on, the way DeepSparse reports a compiled model.
struct LayerCounts {
  int total = 0;
  int int8 = 0;       // dtype qu8, qs8, u8 or s8
  int sparse = 0;     // on a kernel row that skips zero weights (INT8 or not), however few: without
                      // VNNI, dense INT8 convs take those rows as a last resort (kernels/selection.h)
  int reference = 0;  // on the plain reference kernels
  int dense = 0;      // none of the above: the optimised float and data-movement kernels
};
LayerCounts count_layers(const PlanDescription& plan);
// Empty when every layer runs on an optimised kernel; else a sentence for a warning, which says
// how many layers run on the reference kernels and names the first of them.
std::string reference_layers_warning(const PlanDescription& plan);

class Plan;

// How many threads one run uses.
enum class Threads {
  kAdaptive,  // num_cores(), or one while that measures faster (the cores are contended)
  kOne,       // one: for callers that run several batches side by side, a core each
};

// The cores this process may use: its affinity mask, capped by a cgroup CPU quota (containers).
// What num_cores = 0 means.
int available_cores();

class Engine {
 public:
  // Imports, optimises and compiles a model file. Throws sparrow::Error naming what failed.
  static Engine load(const std::string& path, const CompileOptions& options = {});
  // The same from serialized bytes; base_dir resolves external weight files.
  static Engine load_from_bytes(const std::string& bytes, const CompileOptions& options = {},
                                const std::string& base_dir = "");

  const std::vector<TensorSpec>& inputs() const;
  const std::vector<TensorSpec>& outputs() const;
  int64_t batch_size() const;
  int num_cores() const;
  // The model's metadata_props (e.g. "names", "stride" of an ultralytics export).
  const std::map<std::string, std::string>& metadata() const;

  // Runs one batch. Safe to call from several threads at once.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs, Threads threads = Threads::kAdaptive) const;
  // The same, writing into `outputs`; tensors that already have the output's dtype and shape are
  // reused (no allocation, no page faults), others are replaced.
  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs,
           Threads threads = Threads::kAdaptive) const;
  // Calls fn(i) for every i in [0, n), in parallel on as many threads as such runs use now: work
  // around a run (decoding a batch's images, post-processing its items) shares the run's threads
  // instead of competing with them. Rethrows the first exception fn threw, after all calls.
  void parallel_for(size_t n, const std::function<void(size_t)>& fn, Threads threads = Threads::kAdaptive) const;
  // Adaptive runs since load() that used one thread because that measured faster.
  int64_t single_thread_runs() const;
  // Allocates now the working memory of `runs` concurrent runs (arena and scratchpad each), which
  // runs otherwise allocate when they first overlap: a server's memory then stops growing once
  // it is ready.
  void reserve_concurrent_runs(int runs) const;

  PlanDescription describe() const;
  // describe() plus the mean time of each layer over `iterations` runs.
  PlanDescription profile(int iterations) const;

 private:
  explicit Engine(std::shared_ptr<const Plan> plan);
  std::shared_ptr<const Plan> plan_;
};

}  // namespace sparrow
