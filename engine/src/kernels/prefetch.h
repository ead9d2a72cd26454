// Software prefetch of code and weights the sparse JIT rows are about to run: a large layer's
// code comes cold from memory at each inference, and instruction fetch alone waits on each line
// in turn, where data prefetches overlap. Measured on a pruned INT8 yolov5l (describe --profile,
// 2 cores): its 2.3 MB stride-2 3x3 conv took 1.4-1.8 ms in the model against 0.77 ms alone in
// kernel_bench; prefetched, 1.0 ms.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sparrow::kernels {

// Prefetches part `part` of `parts` of the bytes [begin, end) into L2, a cache line at a time,
// so that a loop of `parts` steps can spread the traffic over its steps.
inline void prefetch_l2_part(const void* begin, const void* end, size_t part, size_t parts) {
  const auto* b = static_cast<const uint8_t*>(begin);
  const size_t lines = (static_cast<size_t>(static_cast<const uint8_t*>(end) - b) + 63) / 64;
  for (size_t i = lines * part / parts; i < lines * (part + 1) / parts; ++i) __builtin_prefetch(b + i * 64, 0, 2);
}

// Part `part` of `parts` of segments [first, last) of generated code, laid out one after another
// up to `code_end`, and of their weights, likewise in order: each Segment has `fn`, its entry, and
// `first_weight`, the index of its first weight.
template <class Segment, class Weight>
void prefetch_l2_segments(const std::vector<Segment>& segments, const void* code_end, const std::vector<Weight>& weights,
                          size_t first, size_t last, size_t part, size_t parts) {
  const bool to_end = last >= segments.size();
  const void* code_stop = to_end ? code_end : reinterpret_cast<const void*>(segments[last].fn);
  prefetch_l2_part(reinterpret_cast<const void*>(segments[first].fn), code_stop, part, parts);
  const size_t weights_stop = to_end ? weights.size() : static_cast<size_t>(segments[last].first_weight);
  prefetch_l2_part(weights.data() + segments[first].first_weight, weights.data() + weights_stop, part, parts);
}

}  // namespace sparrow::kernels
