#include "compression/gptq.h"

#include <algorithm>
#include <cmath>

#include "compression/obs_update.h"

namespace sparrow::compression {

using Eigen::Index;
using Eigen::MatrixXd;

Eigen::VectorXd symmetric_int8_steps(const MatrixXd& w) {
  Eigen::VectorXd steps(w.rows());
  for (Index r = 0; r < w.rows(); ++r) {
    const double peak = w.row(r).cwiseAbs().maxCoeff();
    steps(r) = peak > 0 ? static_cast<double>(static_cast<float>(peak) / 127.0f) : 1.0;  // the writer's float step
  }
  return steps;
}

void gptq_quantize(MatrixXd& w, MatrixXd h, const Eigen::VectorXd& steps, double damping, int64_t lazy_batch) {
  const Eigen::Array<bool, Eigen::Dynamic, Eigen::Dynamic> pruned = w.array() == 0;
  const MatrixXd u = inverse_hessian_factor(w, std::move(h), damping);
  const Index columns = w.cols();
  const auto round = [&](Index c, const Eigen::VectorXd& column) {
    Eigen::VectorXd q(column.size());
    for (Index r = 0; r < column.size(); ++r) {
      q(r) = pruned(r, c) ? 0.0 : std::clamp(std::nearbyint(column(r) / steps(r)), -127.0, 127.0) * steps(r);
    }
    return q;
  };
  for (Index c1 = 0; c1 < columns; c1 += lazy_batch) {
    const Index c2 = std::min<Index>(columns, c1 + lazy_batch);
    const MatrixXd errors = fix_columns(w, u, c1, c2, [&](Index i, const Eigen::VectorXd& column) { return round(c1 + i, column); });
    if (c2 < columns) w.rightCols(columns - c2).noalias() -= errors * u.block(c1, c2, c2 - c1, columns - c2);
  }
}

}  // namespace sparrow::compression
