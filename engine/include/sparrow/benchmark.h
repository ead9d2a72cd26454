// Throughput benchmark of a compiled engine, reporting DeepSparse's fields.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "sparrow/engine.h"

namespace sparrow {

enum class Scenario { kSync, kAsync };

// Longest timed or warm-up duration run_benchmark accepts (a day).
constexpr double kMaxBenchmarkSeconds = 86400;

struct BenchmarkOptions {
  double seconds = 10;        // timed duration, in (0, kMaxBenchmarkSeconds]
  int64_t iterations = 0;     // > 0: stop after this many batches (over all streams), or at `seconds`
  double warmup_seconds = 2;  // untimed runs before it
  Scenario scenario = Scenario::kSync;
  // Concurrent streams for the async scenario. Each runs the engine on its num_cores() threads,
  // so an engine for N streams is compiled for the cores divided by N.
  int num_streams = 1;
  uint64_t seed = 0;  // inputs are random, never uninitialised memory
  // Checked between batches; returning true ends the run early (a cancelled call, a shutdown).
  std::function<bool()> should_stop;
  // Other work that must not wait for the whole run (a server's queued requests). Between
  // batches, when other_work_waiting() is true, every stream stops after its current batch,
  // do_other_work() runs (it must not throw), and the time it took is left out of the results.
  std::function<bool()> other_work_waiting;
  std::function<void()> do_other_work;
};

struct BenchmarkResult {
  int64_t batch_size = 0;
  int num_cores = 0;
  int num_streams = 1;
  std::string scenario;
  int64_t iterations = 0;
  double seconds_ran = 0;
  double items_per_second = 0;
  double ms_per_batch = 0;  // wall time per batch: seconds_ran / iterations
  double batch_times_mean = 0;
  double batch_times_median = 0;
  double batch_times_std = 0;
  double p50 = 0, p90 = 0, p95 = 0, p99 = 0, p99_9 = 0;  // batch time percentiles, ms
  // Batches that ran on one thread because that measured faster (the cores were contended).
  int64_t single_thread_iterations = 0;
  double seconds_paused = 0;  // spent on other work, not in seconds_ran
};

BenchmarkResult run_benchmark(const Engine& engine, const BenchmarkOptions& options);

}  // namespace sparrow
