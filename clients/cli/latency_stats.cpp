#include "latency_stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace sparrow::client {

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const double rank = p / 100 * static_cast<double>(sorted.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(rank));
  const size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (rank - static_cast<double>(below)) * (sorted[above] - sorted[below]);
}

LatencySummary summarize(std::vector<double> latencies_ms) {
  LatencySummary s;
  if (latencies_ms.empty()) return s;
  std::sort(latencies_ms.begin(), latencies_ms.end());
  s.mean = std::accumulate(latencies_ms.begin(), latencies_ms.end(), 0.0) / static_cast<double>(latencies_ms.size());
  s.p50 = percentile(latencies_ms, 50);
  s.p90 = percentile(latencies_ms, 90);
  s.p95 = percentile(latencies_ms, 95);
  s.p99 = percentile(latencies_ms, 99);
  s.max = latencies_ms.back();
  return s;
}

}  // namespace sparrow::client
