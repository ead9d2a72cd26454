#include "runtime/memory_planner.h"

#include <algorithm>
#include <cstdint>
#include <numeric>

namespace sparrow::runtime {
namespace {

constexpr size_t kAlignment = 64;

size_t aligned(size_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

bool overlap_in_time(const LiveRange& a, const LiveRange& b) { return a.first <= b.last && b.first <= a.last; }

}  // namespace

ArenaLayout plan_arena(const std::vector<LiveRange>& ranges) {
  std::vector<size_t> order(ranges.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ranges[a].bytes > ranges[b].bytes; });

  ArenaLayout layout;
  layout.offsets.assign(ranges.size(), 0);
  std::vector<size_t> placed;
  for (size_t r : order) {
    // Occupied intervals of the ranges live at the same time, by offset.
    std::vector<std::pair<size_t, size_t>> busy;
    for (size_t p : placed) {
      if (overlap_in_time(ranges[r], ranges[p])) busy.emplace_back(layout.offsets[p], layout.offsets[p] + aligned(ranges[p].bytes));
    }
    std::sort(busy.begin(), busy.end());
    const size_t need = aligned(ranges[r].bytes);
    size_t best = SIZE_MAX, best_gap = SIZE_MAX, cursor = 0;
    for (const auto& [begin, end] : busy) {
      if (begin >= cursor && begin - cursor >= need && begin - cursor < best_gap) {
        best = cursor;
        best_gap = begin - cursor;
      }
      cursor = std::max(cursor, end);
    }
    if (best == SIZE_MAX) best = cursor;
    layout.offsets[r] = best;
    layout.total_bytes = std::max(layout.total_bytes, best + need);
    placed.push_back(r);
  }
  return layout;
}

}  // namespace sparrow::runtime
