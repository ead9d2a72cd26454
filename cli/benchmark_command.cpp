// sparrow benchmark: DeepSparse-style throughput and latency report.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "model_options.h"
#include "sparrow/benchmark.h"
#include "sparrow/output_file.h"

namespace sparrow::cli {
namespace {

struct BenchmarkArgs {
  ModelOptions model;
  double seconds = 10;
  double warmup = 2;
  std::string scenario = "sync";
  int num_streams = 0;
  std::string export_json;
};

// How many layers ran on each kernel-table row ("f32-conv-onednn", "reference", ...).
std::map<std::string, int> kernel_counts(const PlanDescription& d) {
  std::map<std::string, int> counts;
  for (const LayerInfo& layer : d.layers) counts[layer.kernel.substr(0, layer.kernel.find(':'))]++;
  return counts;
}

void report(const std::string& model, const BenchmarkResult& r, const PlanDescription& d) {
  std::printf("Model: %s\n", model.c_str());
  std::printf("Batch size: %lld   Cores: %d   Scenario: %s   Streams: %d   ISA: %s\n",
              static_cast<long long>(r.batch_size), r.num_cores, r.scenario.c_str(), r.num_streams, d.isa.c_str());
  std::printf("Throughput (items/sec): %.4f\n", r.items_per_second);
  std::printf("Latency mean (ms/batch): %.4f\n", r.batch_times_mean);
  std::printf("Latency median (ms/batch): %.4f\n", r.batch_times_median);
  std::printf("Latency std (ms/batch): %.4f\n", r.batch_times_std);
  std::printf("Percentiles (ms/batch): p50 %.3f  p90 %.3f  p95 %.3f  p99 %.3f  p99.9 %.3f\n", r.p50, r.p90, r.p95, r.p99,
              r.p99_9);
  std::printf("Iterations: %lld in %.2f s (%.4f ms per batch of wall time)\n", static_cast<long long>(r.iterations),
              r.seconds_ran, r.ms_per_batch);
  if (r.single_thread_iterations > 0) {
    std::printf("On one thread (the cores were busy with other work): %lld of %lld iterations\n",
                static_cast<long long>(r.single_thread_iterations), static_cast<long long>(r.iterations));
  }
}

nlohmann::json to_json(const std::string& model, const BenchmarkResult& r, const PlanDescription& d) {
  nlohmann::json j;
  j["engine"] = "sparrow";
  j["model"] = model;
  j["scenario"] = r.scenario;
  j["batch_size"] = r.batch_size;
  j["num_cores"] = r.num_cores;
  j["num_streams"] = r.num_streams;
  j["isa"] = d.isa;
  j["onednn_isa"] = d.onednn_isa;
  j["iterations"] = r.iterations;
  j["seconds_ran"] = r.seconds_ran;
  j["items_per_second"] = r.items_per_second;
  j["ms_per_batch"] = r.ms_per_batch;
  j["batch_times_mean"] = r.batch_times_mean;
  j["batch_times_median"] = r.batch_times_median;
  j["batch_times_std"] = r.batch_times_std;
  j["p50"] = r.p50;
  j["p90"] = r.p90;
  j["p95"] = r.p95;
  j["p99"] = r.p99;
  j["p99_9"] = r.p99_9;
  j["single_thread_iterations"] = r.single_thread_iterations;
  j["kernels"] = kernel_counts(d);
  const LayerCounts layers = count_layers(d);
  j["layers"] = layers.total;
  j["int8_layers"] = layers.int8;
  j["sparse_layers"] = layers.sparse;
  return j;
}

void run(const BenchmarkArgs& args) {
  const std::string path = args.model.resolved_model();
  if (!args.export_json.empty()) check_writable(args.export_json);
  BenchmarkOptions options;
  options.seconds = args.seconds;
  options.warmup_seconds = args.warmup;
  options.scenario = args.scenario == "async" ? Scenario::kAsync : Scenario::kSync;
  options.num_streams = args.num_streams > 0 ? args.num_streams : (options.scenario == Scenario::kAsync ? 2 : 1);
  // Streams split the cores: each runs on its share.
  CompileOptions compile = args.model.compile_options();
  const int cores = compile.num_cores > 0 ? compile.num_cores : available_cores();
  compile.num_cores = std::max(1, cores / options.num_streams);
  const Engine engine = Engine::load(path, compile);
  const PlanDescription description = engine.describe();
  if (const std::string w = reference_layers_warning(description); !w.empty()) {
    std::fprintf(stderr, "sparrow: warning: %s\n", w.c_str());
  }
  const BenchmarkResult result = run_benchmark(engine, options);
  report(path, result, description);
  if (!args.export_json.empty()) write_text_file(args.export_json, to_json(path, result, description).dump(2) + "\n");
}

}  // namespace

void add_benchmark_command(CLI::App& app) {
  auto args = std::make_shared<BenchmarkArgs>();
  CLI::App* cmd = app.add_subcommand("benchmark", "Measure throughput and latency on random inputs");
  args->model.add_to(*cmd);
  cmd->add_option("-t,--time", args->seconds, "Seconds to measure")->check(CLI::Range(0.01, 86400.0));
  cmd->add_option("-w,--warmup", args->warmup, "Seconds of untimed warm-up")->check(CLI::Range(0.0, 3600.0));
  cmd->add_option("-s,--scenario", args->scenario, "sync: one stream; async: --num-streams concurrent streams")
      ->check(CLI::IsMember({"sync", "async"}));
  cmd->add_option("--num-streams", args->num_streams, "Concurrent streams sharing the cores (async; default 2)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("-x,--export-json", args->export_json, "Write the results as JSON to this file");
  cmd->callback([args] { run(*args); });
}

}  // namespace sparrow::cli
