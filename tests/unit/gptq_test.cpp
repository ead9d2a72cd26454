// GPTQ: rounding a weight matrix to its INT8 grid with error feedback, against plain rounding.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "support/random_matrix.h"
#include "compression/gptq.h"
#include "compression/sparsegpt.h"

namespace sparrow {
namespace {

using Eigen::MatrixXd;

using test::random_matrix;

// Correlated inputs, as a conv's are: what error feedback exploits.
MatrixXd hessian_of_correlated_inputs(Eigen::Index rows, uint64_t seed) {
  const MatrixXd x = random_matrix(rows, rows / 2, seed) * random_matrix(rows / 2, 400, seed + 1) +
                     0.1 * random_matrix(rows, 400, seed + 2);
  return x * x.transpose() / 400.0;
}

MatrixXd rounded(const MatrixXd& w, const Eigen::VectorXd& steps) {
  MatrixXd q = w;
  for (Eigen::Index r = 0; r < w.rows(); ++r) {
    for (Eigen::Index c = 0; c < w.cols(); ++c) q(r, c) = std::clamp(std::nearbyint(w(r, c) / steps(r)), -127.0, 127.0) * steps(r);
  }
  return q;
}

TEST(Gptq, StepsAreThePeakOver127) {
  MatrixXd w(2, 3);
  w << 0.5, -1.27, 0.1, 0, 0, 0;
  const Eigen::VectorXd steps = compression::symmetric_int8_steps(w);
  EXPECT_NEAR(steps(0), 0.01, 1e-7);
  EXPECT_EQ(steps(1), 1.0);  // an all-zero row
}

TEST(Gptq, LandsOnTheGridWithLessOutputErrorThanRounding) {
  for (uint64_t seed : {1, 2, 3}) {
    const MatrixXd h = hessian_of_correlated_inputs(48, seed);
    const MatrixXd original = random_matrix(16, 48, seed + 10);
    MatrixXd w = original;
    for (Eigen::Index i = 0; i < w.size(); i += 3) w.data()[i] = 0;  // a third pruned
    const MatrixXd pruned = w;
    // A coarse grid (peak / 7) so that rounding's error is large enough to matter.
    const Eigen::VectorXd steps = compression::symmetric_int8_steps(w) * 127.0 / 7.0;
    compression::gptq_quantize(w, h, steps, 0.01, 16);
    for (Eigen::Index r = 0; r < w.rows(); ++r) {
      for (Eigen::Index c = 0; c < w.cols(); ++c) {
        const double level = w(r, c) / steps(r);
        EXPECT_NEAR(level, std::nearbyint(level), 1e-9) << r << "," << c;
        EXPECT_LE(std::fabs(level), 127.0);
        if (pruned(r, c) == 0) {
          EXPECT_EQ(w(r, c), 0.0) << "a pruned weight came back";
        }
      }
    }
    EXPECT_LT(compression::relative_output_error(pruned, w, h), compression::relative_output_error(pruned, rounded(pruned, steps), h))
        << "seed " << seed;
  }
}

}  // namespace
}  // namespace sparrow
