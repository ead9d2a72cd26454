#include "sparrow/benchmark.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <string>
#include <thread>

#include "runtime/pause_gate.h"
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

// One stream: runs back to back until the deadline (moved by the time paused) or until
// `budget` batches have been taken (shared by all streams), recording each batch's time.
void stream_loop(const Engine& engine, const std::vector<Tensor>& inputs, Clock::time_point deadline,
                 std::atomic<int64_t>* budget, const BenchmarkOptions& o, runtime::PauseGate& gate,
                 std::vector<double>& times) {
  std::vector<Tensor> outputs;
  for (;;) {
    gate.between_batches();
    if (Clock::now() >= deadline + gate.paused() || (budget && budget->fetch_sub(1) <= 0) ||
        (o.should_stop && o.should_stop())) {
      break;
    }
    const auto start = Clock::now();
    engine.run(inputs, outputs);
    times.push_back(elapsed_ms(start, Clock::now()));
  }
  gate.leave();
}

// One message per field, each with the field's whole range: NaN fails every comparison, so each
// check is written to fail for it.
void validate(const BenchmarkOptions& o) {
  auto check = [](bool ok, const std::string& message) {
    if (!ok) throw Error(ErrorCode::kInvalidArgument, message);
  };
  check(o.seconds > 0 && o.seconds <= kMaxBenchmarkSeconds, "benchmark seconds must be in (0, 86400]");
  check(o.warmup_seconds >= 0 && o.warmup_seconds <= kMaxBenchmarkSeconds, "benchmark warmup seconds must be in [0, 86400]");
  check(o.iterations >= 0, "benchmark iterations must be >= 0");
  check(o.num_streams >= 1 && o.num_streams <= 256, "benchmark num_streams must be in [1, 256]");
  check(o.scenario == Scenario::kAsync || o.num_streams == 1,
        "the sync scenario runs one stream; use the async scenario for more");
}

// Runs every stream for `seconds` (or `iterations` batches in all, if that comes first); the
// times go to `times` when given.
void run_streams(const Engine& engine, const std::vector<std::vector<Tensor>>& inputs, const BenchmarkOptions& o,
                 double seconds, int64_t iterations, runtime::PauseGate& gate,
                 std::vector<std::vector<double>>& times) {
  const int streams = static_cast<int>(inputs.size());
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::atomic<int64_t> budget(iterations);
  std::atomic<int64_t>* limit = iterations > 0 ? &budget : nullptr;
  std::vector<std::thread> workers;
  for (int s = 1; s < streams; ++s) {
    workers.emplace_back([&, s] { stream_loop(engine, inputs[s], deadline, limit, o, gate, times[s]); });
  }
  stream_loop(engine, inputs[0], deadline, limit, o, gate, times[0]);
  for (auto& w : workers) w.join();
}

BenchmarkResult summarize(const std::vector<std::vector<double>>& times, double wall_s) {
  std::vector<double> all;
  for (const auto& t : times) all.insert(all.end(), t.begin(), t.end());
  std::sort(all.begin(), all.end());
  BenchmarkResult r;
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
  r.ms_per_batch = wall_s * 1000.0 / static_cast<double>(r.iterations);
  return r;
}

}  // namespace

BenchmarkResult run_benchmark(const Engine& engine, const BenchmarkOptions& options) {
  validate(options);
  const int streams = options.num_streams;
  std::vector<std::vector<Tensor>> inputs;
  for (int s = 0; s < streams; ++s) inputs.push_back(runtime::random_inputs(engine.inputs(), options.seed + s));

  engine.run(inputs[0]);  // at least one untimed run: JIT and page faults
  if (options.warmup_seconds > 0) {
    runtime::PauseGate gate(streams, options.other_work_waiting, options.do_other_work);
    std::vector<std::vector<double>> ignored(streams);
    run_streams(engine, inputs, options, options.warmup_seconds, 0, gate, ignored);
  }
  runtime::PauseGate gate(streams, options.other_work_waiting, options.do_other_work);
  std::vector<std::vector<double>> times(streams);
  const int64_t single_before = engine.single_thread_runs();
  const auto start = Clock::now();
  run_streams(engine, inputs, options, options.seconds, options.iterations, gate, times);
  const double wall_s = std::chrono::duration<double>(Clock::now() - start - gate.paused()).count();

  BenchmarkResult r = summarize(times, wall_s);
  r.batch_size = engine.batch_size();
  r.num_cores = engine.num_cores() * streams;
  r.num_streams = streams;
  r.scenario = options.scenario == Scenario::kSync ? "sync" : "async";
  r.single_thread_iterations = std::min(engine.single_thread_runs() - single_before, r.iterations);
  r.seconds_paused = std::chrono::duration<double>(gate.paused()).count();
  if (r.iterations > 0) r.items_per_second = static_cast<double>(r.iterations * r.batch_size) / wall_s;
  return r;
}

}  // namespace sparrow
