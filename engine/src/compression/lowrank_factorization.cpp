#include "compression/lowrank_factorization.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "sparrow/error.h"

namespace sparrow::compression {

using Eigen::MatrixXd;

int64_t lowrank_rank(int64_t outputs, int64_t inputs, double sparsity) {
  const double weights = static_cast<double>(outputs) * static_cast<double>(inputs);
  return static_cast<int64_t>(std::floor((1 - sparsity) * weights / static_cast<double>(outputs + inputs)));
}

LowRankFactors lowrank_factor(const MatrixXd& w, MatrixXd h, int64_t rank, double damping) {
  if (h.rows() != w.cols() || h.cols() != w.cols()) {
    throw Error(ErrorCode::kInvalidArgument, "low-rank factorization: H is " + std::to_string(h.rows()) + "x" +
                                                 std::to_string(h.cols()) + " for " + std::to_string(w.cols()) + " inputs");
  }
  if (rank < 1 || rank >= std::min(w.rows(), w.cols())) {
    throw Error(ErrorCode::kInvalidArgument, "low-rank factorization: rank " + std::to_string(rank) + " of a " +
                                                 std::to_string(w.rows()) + "x" + std::to_string(w.cols()) +
                                                 " matrix would not make it smaller");
  }
  const double mean = h.diagonal().mean();
  if (!(mean > 0)) h = MatrixXd::Identity(h.rows(), h.cols());
  h.diagonal().array() += damping * (mean > 0 ? mean : 1.0);
  const Eigen::SelfAdjointEigenSolver<MatrixXd> eigen(h);
  if (eigen.info() != Eigen::Success || !(eigen.eigenvalues().minCoeff() > 0)) {
    throw Error(ErrorCode::kInternal, "a layer's input second moment is not positive definite after damping");
  }
  const MatrixXd& v = eigen.eigenvectors();
  const Eigen::VectorXd root = eigen.eigenvalues().cwiseSqrt();
  const MatrixXd h_root = v * root.asDiagonal() * v.transpose();
  const MatrixXd h_inverse_root = v * root.cwiseInverse().asDiagonal() * v.transpose();
  const Eigen::BDCSVD<MatrixXd> svd(w * h_root, Eigen::ComputeThinU | Eigen::ComputeThinV);
  const auto r = static_cast<Eigen::Index>(rank);
  LowRankFactors f;
  f.a = svd.matrixU().leftCols(r) * svd.singularValues().head(r).asDiagonal();
  f.b = svd.matrixV().leftCols(r).transpose() * h_inverse_root;
  return f;
}

}  // namespace sparrow::compression
