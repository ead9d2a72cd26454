// numpy.matmul's shapes, shared by MatMul, MatMulInteger and QLinearMatMul: a 1-D operand is
// a row (A) or column (B) vector whose dim the output drops, and the dims before the last two
// broadcast.
#pragma once

#include "ops/broadcast.h"

namespace sparrow::ops {

struct MatMulShape {
  int64_t m = 1, k = 1, n = 1;
  Shape a_batch, b_batch, batch;  // the batch dims of A and B, and their broadcast
  Shape out;
};

// Throws kInvalidModel when A's and B's inner dims differ or their batches do not broadcast.
MatMulShape matmul_shape(const Shape& a, const Shape& b);

// Calls f(a_offset, b_offset, y_offset), the element offsets of one (m x k), (k x n) and
// (m x n) matrix, for each matrix of the output.
template <typename F>
void for_each_matrix(const MatMulShape& s, F&& f) {
  for_each_broadcast<2>(s.batch, {s.a_batch, s.b_batch},
                        [&](int64_t i, const int64_t* o) { f(o[0] * s.m * s.k, o[1] * s.k * s.n, i * s.m * s.n); });
}

}  // namespace sparrow::ops
