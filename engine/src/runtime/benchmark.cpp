#include "sparrow/benchmark.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>

#include "runtime/random_inputs.h"
#include "sparrow/error.h"

namespace sparrow {
namespace {

using Clock = std::chrono::steady_clock;

double elapsed_ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Linear interpolation between closest ranks, as numpy.percentile does by default.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const double rank = p / 100.0 * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - static_cast<double>(lo));
}

// One stream: runs back to back until the deadline or until `budget` batches have been taken
// (shared by all streams), recording each batch's time.
void stream_loop(const Engine& engine, const std::vector<Tensor>& inputs, int threads, Clock::time_point deadline,
                 std::atomic<int64_t>* budget, const std::function<bool()>& should_stop, std::vector<double>& times) {
  std::vector<Tensor> outputs;
  while (Clock::now() < deadline && (!budget || budget->fetch_sub(1) > 0) && !(should_stop && should_stop())) {
    const auto start = Clock::now();
    engine.run(inputs, outputs, threads);
    times.push_back(elapsed_ms(start, Clock::now()));
  }
}

void validate(const BenchmarkOptions& o) {
  if (!(o.seconds > 0) || o.seconds > 86400) throw Error(ErrorCode::kInvalidArgument, "benchmark time must be in (0, 86400] seconds");
  if (o.iterations < 0) throw Error(ErrorCode::kInvalidArgument, "benchmark iterations must be >= 0");
  if (!(o.warmup_seconds >= 0) || o.warmup_seconds > 3600) throw Error(ErrorCode::kInvalidArgument, "warmup must be in [0, 3600] seconds");
  if (o.num_streams < 1 || o.num_streams > 256) throw Error(ErrorCode::kInvalidArgument, "num_streams must be in [1, 256]");
  if (o.scenario == Scenario::kSync && o.num_streams != 1) {
    throw Error(ErrorCode::kInvalidArgument, "the sync scenario runs one stream; use the async scenario for more");
  }
}

}  // namespace

BenchmarkResult run_benchmark(const Engine& engine, const BenchmarkOptions& options) {
  validate(options);
  const int streams = options.num_streams;
  // Streams share the engine's cores; each gets an equal part (at least one thread).
  const int threads = std::max(1, engine.num_cores() / streams);
  std::vector<std::vector<Tensor>> inputs;
  for (int s = 0; s < streams; ++s) inputs.push_back(runtime::random_inputs(engine.inputs(), options.seed + s));

  std::vector<std::vector<double>> times(streams);
  auto run_all = [&](double seconds, int64_t iterations, bool record) {
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    std::atomic<int64_t> budget(iterations);
    std::atomic<int64_t>* limit = iterations > 0 ? &budget : nullptr;
    std::vector<std::vector<double>> scratch(streams);
    auto& sink = record ? times : scratch;
    std::vector<std::thread> workers;
    for (int s = 1; s < streams; ++s) {
      workers.emplace_back([&, s] { stream_loop(engine, inputs[s], threads, deadline, limit, options.should_stop, sink[s]); });
    }
    stream_loop(engine, inputs[0], threads, deadline, limit, options.should_stop, sink[0]);
    for (auto& w : workers) w.join();
  };

  engine.run(inputs[0], threads);  // at least one untimed run: JIT and page faults
  if (options.warmup_seconds > 0) run_all(options.warmup_seconds, 0, false);
  const auto start = Clock::now();
  // A fixed number of iterations runs without a time limit (a day at most).
  run_all(options.iterations > 0 ? 86400.0 : options.seconds, options.iterations, true);
  const double wall_s = elapsed_ms(start, Clock::now()) / 1000.0;

  std::vector<double> all;
  for (const auto& t : times) all.insert(all.end(), t.begin(), t.end());
  std::sort(all.begin(), all.end());
  BenchmarkResult r;
  r.batch_size = engine.batch_size();
  r.num_cores = engine.num_cores();
  r.num_streams = streams;
  r.scenario = options.scenario == Scenario::kSync ? "sync" : "async";
  r.iterations = static_cast<int64_t>(all.size());
  r.seconds_ran = wall_s;
  if (all.empty()) return r;
  double sum = 0;
  for (double t : all) sum += t;
  r.batch_times_mean = sum / static_cast<double>(all.size());
  double var = 0;
  for (double t : all) var += (t - r.batch_times_mean) * (t - r.batch_times_mean);
  r.batch_times_std = std::sqrt(var / static_cast<double>(all.size()));
  r.batch_times_median = percentile(all, 50);
  r.p50 = r.batch_times_median;
  r.p90 = percentile(all, 90);
  r.p95 = percentile(all, 95);
  r.p99 = percentile(all, 99);
  r.p99_9 = percentile(all, 99.9);
  r.items_per_second = static_cast<double>(r.iterations * r.batch_size) / wall_s;
  r.ms_per_batch = wall_s * 1000.0 / static_cast<double>(r.iterations);
  return r;
}

}  // namespace sparrow
