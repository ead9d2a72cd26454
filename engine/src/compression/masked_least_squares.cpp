#include "compression/masked_least_squares.h"

#include <vector>

#include "compression/obs_update.h"
#include "sparrow/error.h"

namespace sparrow::compression {

void refit_kept_weights(Eigen::MatrixXd& w, const Eigen::MatrixXd& target, const Eigen::MatrixXd& h, double damping) {
  Eigen::MatrixXd damped = h;
  damp_hessian(damped, damping);
  const Eigen::MatrixXd rhs = damped * target.transpose();  // column r: H·tᵀ of row r
  bool failed = false;
#pragma omp parallel for schedule(dynamic)
  for (Eigen::Index r = 0; r < w.rows(); ++r) {
    std::vector<Eigen::Index> kept;
    for (Eigen::Index c = 0; c < w.cols(); ++c) {
      if (w(r, c) != 0) kept.push_back(c);
    }
    if (kept.empty()) continue;
    const auto n = static_cast<Eigen::Index>(kept.size());
    Eigen::MatrixXd h_kept(n, n);
    Eigen::VectorXd b(n);
    for (Eigen::Index i = 0; i < n; ++i) {
      b(i) = rhs(kept[static_cast<size_t>(i)], r);
      for (Eigen::Index j = 0; j < n; ++j) h_kept(i, j) = damped(kept[static_cast<size_t>(i)], kept[static_cast<size_t>(j)]);
    }
    const Eigen::LLT<Eigen::MatrixXd> llt(h_kept);
    if (llt.info() != Eigen::Success) {
#pragma omp atomic write
      failed = true;
      continue;
    }
    const Eigen::VectorXd solved = llt.solve(b);
    for (Eigen::Index i = 0; i < n; ++i) w(r, kept[static_cast<size_t>(i)]) = solved(i);
  }
  if (failed) throw Error(ErrorCode::kInternal, "a layer Hessian restricted to the kept weights is not positive definite");
}

}  // namespace sparrow::compression
