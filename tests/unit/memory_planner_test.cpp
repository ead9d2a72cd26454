#include "runtime/memory_planner.h"

#include <gtest/gtest.h>

#include <random>

namespace sparrow::runtime {
namespace {

// No two ranges that are live at the same step may overlap in memory.
void expect_valid(const std::vector<LiveRange>& ranges, const ArenaLayout& layout) {
  for (size_t a = 0; a < ranges.size(); ++a) {
    EXPECT_EQ(layout.offsets[a] % 64, 0u);
    EXPECT_LE(layout.offsets[a] + ranges[a].bytes, layout.total_bytes);
    for (size_t b = a + 1; b < ranges.size(); ++b) {
      const bool same_time = ranges[a].first <= ranges[b].last && ranges[b].first <= ranges[a].last;
      const bool same_space = layout.offsets[a] < layout.offsets[b] + ranges[b].bytes &&
                              layout.offsets[b] < layout.offsets[a] + ranges[a].bytes;
      EXPECT_FALSE(same_time && same_space) << "ranges " << a << " and " << b << " collide";
    }
  }
}

TEST(MemoryPlanner, ChainReusesMemory) {
  // A chain: each buffer is read only by the next step, so two buffers are enough.
  std::vector<LiveRange> ranges;
  for (int i = 0; i < 10; ++i) ranges.push_back({1000, i, i + 1});
  const ArenaLayout layout = plan_arena(ranges);
  expect_valid(ranges, layout);
  EXPECT_EQ(layout.total_bytes, 2 * 1024u);
}

TEST(MemoryPlanner, AllLiveNeedsTheSum) {
  std::vector<LiveRange> ranges = {{100, 0, 5}, {200, 1, 5}, {300, 2, 5}};
  const ArenaLayout layout = plan_arena(ranges);
  expect_valid(ranges, layout);
  EXPECT_EQ(layout.total_bytes, 128u + 256u + 320u);
}

TEST(MemoryPlanner, RandomRangesNeverCollide) {
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<LiveRange> ranges;
    size_t peak_bound = 0;
    for (int i = 0; i < 60; ++i) {
      const int first = static_cast<int>(rng() % 100);
      ranges.push_back({1 + rng() % 100000, first, first + static_cast<int>(rng() % 20)});
      peak_bound += ranges.back().bytes + 64;
    }
    const ArenaLayout layout = plan_arena(ranges);
    expect_valid(ranges, layout);
    EXPECT_LE(layout.total_bytes, peak_bound);
  }
}

}  // namespace
}  // namespace sparrow::runtime
