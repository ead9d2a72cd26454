// The Benchmark RPC's request, checked against the server's limit and turned into the engine's
// benchmark options.
#pragma once

#include <grpcpp/support/status.h>

#include "sparrow/benchmark.h"
#include "sparrow/v1/detection.pb.h"

namespace sparrow::server {

// max_seconds bounds warm-up plus timed run (the operator's --max-benchmark-seconds; 0: the RPC
// is off). Leaves should_stop and the pause hooks to the caller.
grpc::Status benchmark_options(const v1::BenchmarkRequest& request, double max_seconds, BenchmarkOptions* options);

}  // namespace sparrow::server
