// Runs one load level against the server: a fixed number of requests in flight (closed loop, like
// perf_analyzer's --concurrency-range) or a fixed rate of requests whatever the answers (open
// loop, --request-rate-range). One thread drives every request through gRPC's callback API.
#pragma once

#include <grpcpp/support/status.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "request_source.h"

namespace sparrow::client {

struct LoadLevel {
  int concurrency = 0;      // closed loop: keep this many requests in flight
  double request_rate = 0;  // open loop (when concurrency is 0): requests per second
  double warmup_seconds = 0;
  double duration_seconds = 10;
  double timeout_seconds = 30;  // deadline of each request

  std::string label() const;  // "concurrency 4" or "rate 20/s"
};

// Requests sent during the warm-up are not measured; every request sent afterwards, up to the
// level's end, is counted exactly once, as ok or failed, and waited for.
struct LevelResult {
  LoadLevel level;
  int items_per_request = 1;
  uint64_t warmup_requests = 0;
  uint64_t sent = 0, ok = 0, failed = 0;
  double seconds = 0;  // from the first measured send to the later of the level's end and the last answer
  std::vector<double> latencies_ms;                           // of the requests that succeeded
  std::map<grpc::StatusCode, uint64_t> errors;                // failed requests by status code
  std::map<grpc::StatusCode, std::string> error_examples;     // the first message of each code
  ServerTimings server;                                       // over the requests that succeeded

  double requests_per_second() const { return seconds > 0 ? static_cast<double>(ok) / seconds : 0; }
  double items_per_second() const { return requests_per_second() * items_per_request; }
};

LevelResult run_level(RequestSource& source, const LoadLevel& level);

}  // namespace sparrow::client
