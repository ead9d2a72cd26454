// The step SparseGPT and GPTQ share (the Optimal Brain Surgeon update, in the lazy-batch form of
// Frantar et al.): columns of W are fixed to new values one after another, and each column's
// change, scaled by the inverse Hessian's Cholesky factor, is taken off the columns not yet
// fixed, so that the layer's output on the calibration inputs moves as little as it can.
#pragma once

#include <Eigen/Dense>

namespace sparrow::compression {

// SparseGPT's damping, which every solve with a layer Hessian shares: an input never seen
// (H_jj = 0) gets H_jj = 1, then λ = damping x the mean diagonal is added to the diagonal.
// Returns λ.
double damp_hessian(Eigen::MatrixXd& h, double damping);

// (H + λI)⁻¹, λ = damping x H's mean diagonal, after zeroing the weights of inputs never seen
// (H_jj = 0). sparrow::Error (kInternal) if H, damped, is not positive definite.
Eigen::MatrixXd inverse_hessian(Eigen::MatrixXd& w, Eigen::MatrixXd h, double damping);

// The upper Cholesky factor U of that inverse, (H + λI)⁻¹ = Uᵀ·U.
Eigen::MatrixXd inverse_hessian_factor(Eigen::MatrixXd& w, Eigen::MatrixXd h, double damping);

// Fixes columns [c1, c2) of `w` in order, column i to fix(i, current column i) (a vector of the
// same size), updating the later columns of the batch as it goes, and returns the batch's scaled
// errors: the caller takes errors · U[c1:c2, c2:] off the columns after the batch.
template <class Fix>
Eigen::MatrixXd fix_columns(Eigen::MatrixXd& w, const Eigen::MatrixXd& u, Eigen::Index c1, Eigen::Index c2, Fix fix) {
  const Eigen::Index count = c2 - c1;
  Eigen::MatrixXd w1 = w.middleCols(c1, count);
  Eigen::MatrixXd errors(w.rows(), count);
  for (Eigen::Index i = 0; i < count; ++i) {
    const Eigen::VectorXd q = fix(i, w1.col(i));
    const Eigen::VectorXd err = (w1.col(i) - q) / u(c1 + i, c1 + i);
    w1.rightCols(count - i).noalias() -= err * u.row(c1 + i).segment(c1 + i, count - i);
    w1.col(i) = q;  // exactly the fixed values, not the update's rounding
    errors.col(i) = err;
  }
  w.middleCols(c1, count) = w1;
  return errors;
}

}  // namespace sparrow::compression
