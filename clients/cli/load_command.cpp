// sparrow-client load: a load generator in the spirit of Triton's perf_analyzer. Each level runs
// for --duration after its --warmup; results go to a table, and optionally CSV and JSON.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "commands.h"
#include "connection.h"
#include "image_files.h"
#include "load_generator.h"
#include "load_report.h"
#include "request_source.h"
#include "rpc_error.h"
#include "sparrow/error.h"
#include "sparrow/yolo/image_files.h"

namespace sparrow::client {
namespace {

struct LoadArgs {
  std::vector<int> concurrency;
  std::vector<double> request_rates;
  double duration = 10;
  double warmup = 1;
  std::vector<std::string> images;
  int images_per_request = 1;
  std::string mode = "detect";
  bool shared_memory = false;
  std::string csv_file, json_file;
};

std::vector<LoadLevel> levels(const LoadArgs& args, double timeout) {
  LoadLevel base;
  base.duration_seconds = args.duration;
  base.warmup_seconds = args.warmup;
  base.timeout_seconds = timeout;
  std::vector<LoadLevel> out;
  for (double rate : args.request_rates) {
    out.push_back(base);
    out.back().request_rate = rate;
  }
  for (int c : args.concurrency) {
    out.push_back(base);
    out.back().concurrency = c;
  }
  if (out.empty()) {
    out.push_back(base);
    out.back().concurrency = 1;
  }
  return out;
}

std::unique_ptr<RequestSource> make_source(const LoadArgs& args, const Connection& connection, const SourceOptions& options) {
  if (args.mode == "infer") return make_infer_source(connection.channel(), options);
  return make_detect_source(connection.channel(), options);
}

void run(const LoadArgs& args, const Connection& connection) {
  SourceOptions options;
  options.model = connection.model;
  options.image_files = yolo::image_files(args.images.empty() ? std::vector<std::string>{default_image()} : args.images);
  options.images_per_request = args.images_per_request;
  options.shared_memory = args.shared_memory;
  if (args.shared_memory && args.mode != "infer") {
    throw Error(ErrorCode::kInvalidArgument, "--shared-memory sends tensors, so it needs --mode infer");
  }
  if (options.image_files.empty()) throw Error(ErrorCode::kInvalidArgument, "--images names no image files");
  const double timeout = connection.timeout_or(kDefaultTimeoutSeconds);
  options.timeout_seconds = timeout;
  const std::unique_ptr<RequestSource> source = make_source(args, connection, options);
  check(source->probe(timeout), "load: the first request to " + connection.server);

  LoadRun report{connection.server, source->model(), args.mode, args.shared_memory, args.images_per_request,
                 options.image_files, {}};
  print_table_header(args.concurrency.empty() && !args.request_rates.empty());
  uint64_t failed = 0;
  for (const LoadLevel& level : levels(args, timeout)) {
    report.levels.push_back(run_level(*source, level));
    print_level(report.levels.back());
    failed += report.levels.back().failed;
  }
  if (!args.csv_file.empty()) write_csv(args.csv_file, report);
  if (!args.json_file.empty()) write_json(args.json_file, report);
  if (failed > 0) {
    std::fprintf(stderr, "sparrow-client: load: %llu request(s) failed (see the table)\n",
                 static_cast<unsigned long long>(failed));
    throw CLI::RuntimeError(1);
  }
}

}  // namespace

void add_load_command(CLI::App& app, const Connection& connection) {
  auto args = std::make_shared<LoadArgs>();
  CLI::App* cmd = app.add_subcommand("load", "Generate load: levels of concurrency or request rate, one after the other");
  CLI::Option* concurrency = cmd->add_option("--concurrency", args->concurrency, "Requests in flight per level, e.g. 1,4,16")
                                 ->delimiter(',')
                                 ->check(CLI::Range(1, 4096));
  cmd->add_option("--request-rate", args->request_rates, "Open loop: requests per second per level, e.g. 5,10")
      ->delimiter(',')
      ->check(CLI::Range(0.01, 1e6))
      ->excludes(concurrency);
  cmd->add_option("-d,--duration", args->duration, "Seconds measured per level")->check(CLI::Range(0.1, 86400.0))->capture_default_str();
  cmd->add_option("-w,--warmup", args->warmup, "Seconds of unmeasured load before each level")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  cmd->add_option("--images", args->images,
                  "Image files or folders, sent round-robin (default: $SPARROW_SHARED_DIR or ../shared, data/images/bus.jpg)");
  cmd->add_option("--images-per-request", args->images_per_request, "Images per request")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  cmd->add_option("--mode", args->mode, "detect: sparrow.v1 Detect with encoded images; infer: KServe ModelInfer with a tensor")
      ->check(CLI::IsMember({"detect", "infer"}))
      ->capture_default_str();
  cmd->add_flag("--shared-memory", args->shared_memory,
                "infer: send tensors through a POSIX shared memory region instead of gRPC (the server must run on "
                "this host with --allow-shared-memory)");
  cmd->add_option("--csv", args->csv_file, "Write one row per level to this CSV file");
  cmd->add_option("--json", args->json_file, "Write the results as JSON to this file");
  cmd->callback([args, &connection] { run(*args, connection); });
}

}  // namespace sparrow::client
