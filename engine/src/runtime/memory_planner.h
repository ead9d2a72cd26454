// Liveness-based placement of intermediate buffers in one arena: buffers whose lifetimes do not
// overlap share memory.
#pragma once

#include <cstddef>
#include <vector>

namespace sparrow::runtime {

struct LiveRange {
  size_t bytes = 0;
  int first = 0;  // first step that writes it
  int last = 0;   // last step that reads it (inclusive)
};

struct ArenaLayout {
  std::vector<size_t> offsets;  // per range, 64-byte aligned
  size_t total_bytes = 0;
};

// Greedy best-fit by decreasing size: each range goes to the lowest offset where it overlaps no
// already placed range that is live at the same time.
ArenaLayout plan_arena(const std::vector<LiveRange>& ranges);

}  // namespace sparrow::runtime
