// The best weights on a fixed sparsity pattern: SparseGPT chooses which weights to zero and
// updates the rest greedily, column by column; once the pattern is chosen, the kept weights of
// each row can instead be solved for exactly, which never does worse on the layer's objective.
#pragma once

#include <Eigen/Dense>

namespace sparrow::compression {

// For each row of `w`, replaces its non-zero weights by argmin (w − t)·H·(w − t)ᵀ over weights
// with that row's zeros, where t is the same row of `target` and H is `h` damped as SparseGPT
// damps it. Zeros stay exactly zero. sparrow::Error (kInternal) if H is not positive definite.
void refit_kept_weights(Eigen::MatrixXd& w, const Eigen::MatrixXd& target, const Eigen::MatrixXd& h, double damping);

}  // namespace sparrow::compression
