// sparrow describe: each layer's op, shapes, kernel and layout; --profile adds measured times.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "model_options.h"

namespace sparrow::cli {
namespace {

struct DescribeArgs {
  ModelOptions model;
  bool profile = false;
  bool json = false;
  int iterations = 20;
};

std::string shapes(const std::vector<Shape>& list) {
  std::string s;
  for (const Shape& shape : list) {
    if (!s.empty()) s += ",";
    s += shape_string(shape);
  }
  return s;
}

// Widths of the text columns, from their longest entry: kernel names run from "reference" to
// "f32-conv-onednn:brgconv_1x1:avx512_core".
struct ColumnWidths {
  int op = 2, kernel = 6, layout = 6, output = 6;
};

ColumnWidths column_widths(const PlanDescription& d) {
  ColumnWidths w;
  for (const LayerInfo& l : d.layers) {
    w.op = std::max(w.op, static_cast<int>(l.op.size()));
    w.kernel = std::max(w.kernel, static_cast<int>(l.kernel.size()));
    w.layout = std::max(w.layout, static_cast<int>(l.layout.size()));
    w.output = std::max(w.output, static_cast<int>(shapes(l.output_shapes).size()));
  }
  return w;
}

void print_specs(const char* title, const std::vector<TensorSpec>& specs) {
  std::printf("%s:", title);
  for (const TensorSpec& t : specs) std::printf(" %s %s %s", t.name.c_str(), dtype_name(t.dtype), shape_string(t.shape).c_str());
  std::printf("\n");
}

void print(const std::string& model, const PlanDescription& d, bool timed) {
  std::printf("Model: %s\n", model.c_str());
  std::printf("Batch size %lld, %d cores, ISA %s (oneDNN %s), activations %.1f MiB, scratchpad %.1f MiB, weights %.1f MiB\n",
              static_cast<long long>(d.batch_size), d.num_cores, d.isa.c_str(), d.onednn_isa.c_str(), d.arena_bytes / 1048576.0,
              d.scratchpad_bytes / 1048576.0, d.constant_bytes / 1048576.0);
  const ColumnWidths w = column_widths(d);
  std::printf("%4s  %-*s  %-*s  %-*s  %-*s  %8s%s  %s\n", "#", w.op, "op", w.kernel, "kernel", w.layout, "layout",
              w.output, "output", "GFLOP", timed ? "       ms" : "", "name");
  double total_ms = 0, total_gflop = 0;
  for (size_t i = 0; i < d.layers.size(); ++i) {
    const LayerInfo& l = d.layers[i];
    total_ms += l.time_ms;
    total_gflop += l.gflop;
    std::printf("%4zu  %-*s  %-*s  %-*s  %-*s  %8.3f", i, w.op, l.op.c_str(), w.kernel, l.kernel.c_str(), w.layout,
                l.layout.c_str(), w.output, shapes(l.output_shapes).c_str(), l.gflop);
    if (timed) std::printf(" %8.3f", l.time_ms);
    std::printf("  %s\n", l.name.c_str());
  }
  std::printf("Total: %zu layers, %.2f GFLOP", d.layers.size(), total_gflop);
  if (timed) std::printf(", %.3f ms (%.1f GFLOP/s)", total_ms, total_ms > 0 ? total_gflop / total_ms * 1000 : 0);
  std::printf("\n");
  // The layers need not show them: a graph output may be written in place by several layers.
  print_specs("Inputs", d.inputs);
  print_specs("Outputs", d.outputs);
}

// One object per layer: name, op, kernel, dtype, sparsity, block_sparsity, and ms when profiled.
void print_json(const std::string& model, const PlanDescription& d, bool timed) {
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerInfo& l : d.layers) {
    nlohmann::json j = {{"name", l.name}, {"op", l.op}, {"kernel", l.kernel}, {"dtype", l.dtype}, {"sparsity", l.sparsity},
                        {"block_sparsity", l.block_sparsity}};
    if (timed) j["ms"] = l.time_ms;
    layers.push_back(std::move(j));
  }
  const LayerCounts c = count_layers(d);
  const nlohmann::json out = {{"model", model},       {"batch_size", d.batch_size}, {"num_cores", d.num_cores},
                              {"isa", d.isa},         {"onednn_isa", d.onednn_isa}, {"layers", layers},
                              {"int8_layers", c.int8}, {"sparse_layers", c.sparse}};
  std::printf("%s\n", out.dump(2).c_str());
}

void run(const DescribeArgs& args) {
  const std::string path = args.model.resolved_model();
  const Engine engine = Engine::load(path, args.model.compile_options());
  const PlanDescription d = args.profile ? engine.profile(args.iterations) : engine.describe();
  if (args.json) return print_json(path, d, args.profile);
  print(path, d, args.profile);
}

}  // namespace

void add_describe_command(CLI::App& app) {
  auto args = std::make_shared<DescribeArgs>();
  CLI::App* cmd = app.add_subcommand("describe", "Show the compiled plan: op, kernel and layout of each layer");
  args->model.add_to(*cmd);
  cmd->add_flag("-p,--profile", args->profile, "Measure each layer's mean time");
  cmd->add_flag("--json", args->json, "Print JSON: one object per layer (name, op, kernel, dtype, sparsity, block_sparsity, ms)");
  cmd->add_option("--iterations", args->iterations, "Runs to average when profiling")->check(CLI::Range(1, 100000));
  cmd->callback([args] { run(*args); });
}

}  // namespace sparrow::cli
