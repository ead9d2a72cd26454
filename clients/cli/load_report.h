// The load generator's results: a table on stdout, and optionally CSV and JSON files.
#pragma once

#include <string>
#include <vector>

#include "load_generator.h"

namespace sparrow::client {

struct LoadRun {
  std::string server, model, mode;
  bool shared_memory = false;  // infer tensors sent through shared memory
  int images_per_request = 1;
  std::vector<std::string> images;
  std::vector<LevelResult> levels;
};

void print_table_header(bool open_loop);
// The level's row, then a line per status code that failed requests.
void print_level(const LevelResult& result);

// One row per level: concurrency, request_rate, seconds, sent, ok, failed, requests_per_second,
// items_per_second, latency_mean_ms, p50_ms, p90_ms, p95_ms, p99_ms, latency_max_ms, the
// server's per-image means (server_preprocess_ms, server_queue_ms, server_inference_ms,
// server_postprocess_ms; empty for KServe) and errors (CODE=count;CODE=count).
void write_csv(const std::string& path, const LoadRun& run);
void write_json(const std::string& path, const LoadRun& run);

}  // namespace sparrow::client
