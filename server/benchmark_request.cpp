#include "benchmark_request.h"

#include <algorithm>
#include <cstdio>
#include <string>

namespace sparrow::server {
namespace {

std::string number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", v);
  return buffer;
}

grpc::Status invalid(const std::string& message) { return {grpc::StatusCode::INVALID_ARGUMENT, message}; }

}  // namespace

// Every comparison is written so that NaN fails it.
grpc::Status benchmark_options(const v1::BenchmarkRequest& request, double max_seconds, BenchmarkOptions* o) {
  if (!(max_seconds > 0)) {
    return {grpc::StatusCode::UNIMPLEMENTED, "the Benchmark RPC is turned off on this server (--max-benchmark-seconds 0)"};
  }
  const std::string limit = " (this server's --max-benchmark-seconds is " + number(max_seconds) + ")";
  if (!(request.batch_size() >= 0 && request.batch_size() <= 64)) return invalid("batch_size must be in [0, 64]");
  if (!(request.num_streams() >= 0 && request.num_streams() <= 64)) return invalid("num_streams must be in [0, 64]");
  if (!(request.iterations() >= 0)) return invalid("iterations must be >= 0");
  const double warmup = request.has_warmup_seconds() ? request.warmup_seconds() : std::min(2.0, max_seconds / 2);
  if (!(warmup >= 0 && warmup < max_seconds)) {
    return invalid("warmup_seconds must be in [0, " + number(max_seconds) + ")" + limit);
  }
  const double room = max_seconds - warmup;
  if (!(request.seconds() >= 0 && request.seconds() <= room)) {
    return invalid("seconds must be in [0, " + number(room) + "] with warmup_seconds " + number(warmup) + limit);
  }
  o->warmup_seconds = warmup;
  o->seconds = request.seconds() > 0 ? request.seconds() : request.iterations() > 0 ? room : std::min(10.0, room);
  o->iterations = request.iterations();
  o->num_streams = std::max(1, request.num_streams());
  o->scenario = o->num_streams > 1 ? Scenario::kAsync : Scenario::kSync;
  return grpc::Status::OK;
}

}  // namespace sparrow::server
