// sparrow-client benchmark: the engine's throughput benchmark, run inside the server.
#include <grpcpp/client_context.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "connection.h"
#include "rpc_error.h"
#include "sparrow/output_file.h"
#include "sparrow/v1/detection.grpc.pb.h"

namespace sparrow::client {
namespace {

struct BenchmarkArgs {
  int batch_size = 0;
  double seconds = 10;
  int64_t iterations = 0;
  double warmup = 2;
  int num_streams = 1;
  std::string json_file;
};

// Seconds the server needs besides the timed run: compiling an engine for a batch size it does
// not serve, and the warm-up.
constexpr double kBenchmarkSlackSeconds = 120;

void report(const v1::BenchmarkResponse& r) {
  const v1::EngineDescription& e = r.engine();
  std::printf("Model: %s\n", r.model().c_str());
  std::printf("Batch size: %d   Cores: %d   Scenario: %s   Streams: %d   ISA: %s\n", r.batch_size(), e.num_cores(),
              r.scenario().c_str(), r.num_streams(), e.isa().c_str());
  std::printf("Layers: %d (dense %d, sparse %d, int8 %d, reference %d)\n", e.layers(), e.dense_layers(), e.sparse_layers(),
              e.int8_layers(), e.reference_layers());
  std::printf("Throughput (items/sec): %.4f\n", r.items_per_second());
  std::printf("Latency mean (ms/batch): %.4f\n", r.batch_times_mean());
  std::printf("Latency median (ms/batch): %.4f\n", r.batch_times_median());
  std::printf("Latency std (ms/batch): %.4f\n", r.batch_times_std());
  std::printf("Percentiles (ms/batch): p50 %.3f  p90 %.3f  p95 %.3f  p99 %.3f  p99.9 %.3f\n", r.p50(), r.p90(), r.p95(),
              r.p99(), r.p99_9());
  std::printf("Iterations: %lld in %.2f s (%.4f ms per batch of wall time)\n", static_cast<long long>(r.iterations()),
              r.seconds_ran(), r.ms_per_batch());
}

// The field names of `sparrow benchmark --export-json`, plus the server and the layer counts.
nlohmann::json to_json(const std::string& server, const v1::BenchmarkResponse& r) {
  const v1::EngineDescription& e = r.engine();
  nlohmann::json j;
  j["engine"] = "sparrow";
  j["server"] = server;
  j["model"] = r.model();
  j["scenario"] = r.scenario();
  j["batch_size"] = r.batch_size();
  j["num_cores"] = e.num_cores();
  j["num_streams"] = r.num_streams();
  j["isa"] = e.isa();
  j["iterations"] = r.iterations();
  j["seconds_ran"] = r.seconds_ran();
  j["items_per_second"] = r.items_per_second();
  j["ms_per_batch"] = r.ms_per_batch();
  j["batch_times_mean"] = r.batch_times_mean();
  j["batch_times_median"] = r.batch_times_median();
  j["batch_times_std"] = r.batch_times_std();
  j["p50"] = r.p50();
  j["p90"] = r.p90();
  j["p95"] = r.p95();
  j["p99"] = r.p99();
  j["p99_9"] = r.p99_9();
  j["layers"] = {{"total", e.layers()},
                 {"dense", e.dense_layers()},
                 {"sparse", e.sparse_layers()},
                 {"int8", e.int8_layers()},
                 {"reference", e.reference_layers()}};
  j["kernels"] = nlohmann::json::object();
  for (const auto& [kernel, count] : e.kernels()) j["kernels"][kernel] = count;
  return j;
}

void run(const BenchmarkArgs& args, const Connection& connection) {
  v1::BenchmarkRequest request;
  request.set_model(connection.model);
  request.set_batch_size(args.batch_size);
  request.set_seconds(args.seconds);
  request.set_iterations(args.iterations);
  // proto3 cannot tell 0 from unset and the server reads unset as its 2 s default; a microsecond
  // of warm-up is as good as none.
  request.set_warmup_seconds(args.warmup);
  request.set_num_streams(args.num_streams);
  grpc::ClientContext context;
  // A run of N iterations has no duration known beforehand: no deadline unless --timeout.
  connection.set_deadline(context, args.iterations > 0 ? 0 : args.seconds + args.warmup + kBenchmarkSlackSeconds);
  v1::BenchmarkResponse response;
  check(v1::Detection::NewStub(connection.channel())->Benchmark(&context, request, &response), "benchmark");
  report(response);
  if (!args.json_file.empty()) write_text_file(args.json_file, to_json(connection.server, response).dump(2) + "\n");
}

}  // namespace

void add_benchmark_command(CLI::App& app, const Connection& connection) {
  auto args = std::make_shared<BenchmarkArgs>();
  CLI::App* cmd = app.add_subcommand("benchmark", "Run the engine's throughput benchmark inside the server");
  cmd->add_option("-b,--batch-size", args->batch_size, "Batch size (default: the model's largest served batch)")
      ->check(CLI::Range(1, 256));
  CLI::Option* time = cmd->add_option("-t,--time", args->seconds, "Seconds to measure")
                          ->check(CLI::Range(0.01, 600.0))
                          ->capture_default_str();
  cmd->add_option("-n,--iterations", args->iterations, "Measure this many batches instead of --time")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40))
      ->excludes(time);
  cmd->add_option("-w,--warmup", args->warmup, "Seconds of untimed warm-up")->check(CLI::Range(0.0, 60.0))->capture_default_str();
  cmd->add_option("--num-streams", args->num_streams, "Concurrent streams sharing the cores (> 1: async scenario)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  cmd->add_option("--json", args->json_file, "Write the results as JSON to this file (sparrow benchmark's field names)");
  cmd->callback([args, &connection] { run(*args, connection); });
}

}  // namespace sparrow::client
