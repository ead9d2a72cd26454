// Getting the code and weights of the sparse JIT rows into cache before they run: a layer's code
// comes cold from memory at each inference, and instruction fetch waits on one line after
// another, where independent data loads keep many misses in flight.
// - load_lines(): each thread reads the code of its work with data loads once the first panel is
//   packed. Measured on a pruned INT8 yolov5l (describe --profile, 2 cores, interleaved): its 23
//   sparse layers at 20x20, whose code is largest for their work, 8.0-8.2 -> 5.5-5.6 ms; the model
//   33.2-34.0 -> 29.2-29.5 ms. Split between the threads, the reading gained nothing: each core
//   needs all of it (the two vCPUs here need not share a cache).
// - prefetch_l2_part(): a layer whose code outgrows L2 runs it in blocks over every tile of a
//   band, and the next block streams in from L3 a slice per tile of the one before.
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

// Reads one byte of each cache line of [begin, end). The loads are independent, so the core
// keeps many misses in flight, which instruction fetch does not.
inline void load_lines(const void* begin, const void* end) {
  const auto first = reinterpret_cast<uintptr_t>(begin) & ~uintptr_t{63};
  for (uintptr_t line = first; line < reinterpret_cast<uintptr_t>(end); line += 64) {
    (void)*reinterpret_cast<const volatile uint8_t*>(line);
  }
}

// Calls touch(begin, end) on the code of segments [first, last) of generated code, laid out one
// after another up to `code_end`, and on their weights, likewise in order: each Segment has
// `fn`, its entry, and `first_weight`, the index of its first weight.
template <class Segment, class Weight, class Touch>
void touch_segments(const std::vector<Segment>& segments, const void* code_end, const std::vector<Weight>& weights,
                    size_t first, size_t last, Touch touch) {
  if (first >= last) return;
  const bool to_end = last >= segments.size();
  const void* code_stop = to_end ? code_end : reinterpret_cast<const void*>(segments[last].fn);
  touch(reinterpret_cast<const void*>(segments[first].fn), code_stop);
  const size_t weights_stop = to_end ? weights.size() : static_cast<size_t>(segments[last].first_weight);
  touch(static_cast<const void*>(weights.data() + segments[first].first_weight),
        static_cast<const void*>(weights.data() + weights_stop));
}

template <class Segment, class Weight>
void prefetch_l2_segments(const std::vector<Segment>& segments, const void* code_end, const std::vector<Weight>& weights,
                          size_t first, size_t last, size_t part, size_t parts) {
  touch_segments(segments, code_end, weights, first, last,
                 [&](const void* b, const void* e) { prefetch_l2_part(b, e, part, parts); });
}

template <class Segment, class Weight>
void load_segments(const std::vector<Segment>& segments, const void* code_end, const std::vector<Weight>& weights,
                   size_t first, size_t last) {
  touch_segments(segments, code_end, weights, first, last, load_lines);
}

}  // namespace sparrow::kernels
