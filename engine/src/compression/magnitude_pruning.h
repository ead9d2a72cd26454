// Magnitude pruning of one convolution's weights, in place.
#pragma once

#include <cstdint>
#include <vector>

namespace sparrow::compression {

// `weights` has `shape` O x I x (kernel dims...). Zeroes the groups of smallest magnitude until
// at least round(sparsity x size) weights lie in zeroed groups (with blocks, at most a block
// more). A group is one weight for block 1, else up to `block` consecutive input channels at one
// (output channel, kernel position), ranked by L2 norm; the last group of a row is shorter when
// I is not a multiple of `block`. Ties go to the lower index, so the result is deterministic.
void prune_by_magnitude(float* weights, const std::vector<int64_t>& shape, double sparsity, int block);

}  // namespace sparrow::compression
