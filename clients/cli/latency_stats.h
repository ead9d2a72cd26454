// Latency percentiles of a load level.
#pragma once

#include <vector>

namespace sparrow::client {

struct LatencySummary {
  double mean = 0, p50 = 0, p90 = 0, p95 = 0, p99 = 0, max = 0;  // milliseconds
};

// Percentile `p` (0..100) of sorted values, interpolating linearly between the closest ranks
// (numpy's default), so results compare with the Python tools'. 0 for no values.
double percentile(const std::vector<double>& sorted, double p);

LatencySummary summarize(std::vector<double> latencies_ms);

}  // namespace sparrow::client
