#include "ops/matmul_shape.h"

#include <string>

#include "sparrow/error.h"

namespace sparrow::ops {

MatMulShape matmul_shape(const Shape& a, const Shape& b) {
  if (a.empty() || b.empty()) throw Error(ErrorCode::kInvalidModel, "matrix product of a scalar");
  MatMulShape s;
  const size_t ra = a.size(), rb = b.size();
  s.m = ra == 1 ? 1 : a[ra - 2];
  s.k = a[ra - 1];
  const int64_t kb = rb == 1 ? b[0] : b[rb - 2];
  s.n = rb == 1 ? 1 : b[rb - 1];
  if (s.k != kb) {
    throw Error(ErrorCode::kInvalidModel, "matrix product of " + shape_string(a) + " and " + shape_string(b) + ": inner dims " +
                                              std::to_string(s.k) + " and " + std::to_string(kb) + " differ");
  }
  s.a_batch.assign(a.begin(), a.end() - (ra == 1 ? 1 : 2));
  s.b_batch.assign(b.begin(), b.end() - (rb == 1 ? 1 : 2));
  s.batch = broadcast_shapes({s.a_batch, s.b_batch});
  s.out = s.batch;
  if (ra > 1) s.out.push_back(s.m);
  if (rb > 1) s.out.push_back(s.n);
  return s;
}

}  // namespace sparrow::ops
