// Data-aware low-rank factorization of one weight matrix: W (O x I) ≈ A·B with A (O x r) and
// B (r x I), chosen to minimise the layer's output error ||(W − A·B)·X|| on its calibration
// inputs X rather than the weights' own error ||W − A·B||: with H the second moment of the
// inputs, the rank-r truncated SVD of W·H^{1/2}, mapped back through H^{-1/2}.
#pragma once

#include <cstdint>

#include <Eigen/Dense>

namespace sparrow::compression {

struct LowRankFactors {
  Eigen::MatrixXd a;  // O x r: the second 1x1 conv
  Eigen::MatrixXd b;  // r x I: the first 1x1 conv
};

// The rank at which the two factors hold a fraction `sparsity` fewer weights than W (O x I):
// floor((1 − sparsity)·O·I / (O + I)). 0 when even rank 1 would not remove that many.
int64_t lowrank_rank(int64_t outputs, int64_t inputs, double sparsity);

// Factors `w` at `rank` (1 <= rank < min(O, I)) given `h` (I x I, the inputs' second moment,
// e.g. X·Xᵀ / n), damped by `damping` times its mean diagonal as SparseGPT damps it. With H
// = V·Λ·Vᵀ and W·H^{1/2} = U·Σ·Vᵀ: A = U_r·Σ_r, B = V_rᵀ·H^{-1/2}, so B's outputs have unit second
// moment on the calibration inputs. An all-zero H (inputs never seen) falls back to H = I, the
// plain truncated SVD of W. sparrow::Error (kInvalidArgument) for a rank outside that range or
// shapes that do not match.
LowRankFactors lowrank_factor(const Eigen::MatrixXd& w, Eigen::MatrixXd h, int64_t rank, double damping = 0.01);

}  // namespace sparrow::compression
