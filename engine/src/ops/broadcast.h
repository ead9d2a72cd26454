// Numpy-style (multidirectional) broadcasting as ONNX defines it.
#pragma once

#include <vector>

#include "sparrow/tensor.h"

namespace sparrow::ops {

// The broadcast shape of all inputs; throws kInvalidModel when they are incompatible.
Shape broadcast_shapes(const std::vector<Shape>& shapes);

// Element strides of `shape` read as `out` (0 along broadcast dims), right-aligned to out's rank.
std::vector<int64_t> broadcast_strides(const Shape& shape, const Shape& out);

// Calls f(out_index, in_index...) for every element of `out`, where in_index are the element
// offsets of each input under broadcasting. Scalar reference code; not for hot paths.
template <size_t N, typename F>
void for_each_broadcast(const Shape& out, const std::vector<Shape>& inputs, F&& f) {
  const int64_t rank = static_cast<int64_t>(out.size());
  std::vector<std::vector<int64_t>> strides;
  for (const Shape& s : inputs) strides.push_back(broadcast_strides(s, out));
  std::vector<int64_t> index(rank, 0);
  int64_t offsets[N] = {};
  const int64_t total = num_elements(out);
  for (int64_t i = 0; i < total; ++i) {
    f(i, offsets);
    for (int64_t d = rank - 1; d >= 0; --d) {
      ++index[d];
      for (size_t k = 0; k < N; ++k) offsets[k] += strides[k][d];
      if (index[d] < out[d]) break;
      for (size_t k = 0; k < N; ++k) offsets[k] -= strides[k][d] * out[d];
      index[d] = 0;
    }
  }
}

}  // namespace sparrow::ops
