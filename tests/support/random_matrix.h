// Seeded standard-normal matrices for the one-shot compression tests (Eigen), kept out of
// test_support.h so that tests without Eigen do not pay for its headers.
#pragma once

#include <cstdint>
#include <random>

#include <Eigen/Dense>

namespace sparrow::test {

inline Eigen::MatrixXd random_matrix(Eigen::Index rows, Eigen::Index columns, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  return Eigen::MatrixXd::NullaryExpr(rows, columns, [&] { return normal(rng); });
}

// Inputs with correlated features (a random mix of fewer sources, plus a little noise), as a
// conv's inputs are: the case where updating the kept weights recovers what pruning loses.
inline Eigen::MatrixXd correlated_inputs(Eigen::Index rows, Eigen::Index columns, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal;
  const auto random = [&](Eigen::Index r, Eigen::Index c) { return Eigen::MatrixXd::NullaryExpr(r, c, [&] { return normal(rng); }); };
  const Eigen::MatrixXd mix = random(rows, rows / 2);
  return mix * random(rows / 2, columns) + 0.1 * random(rows, columns);
}

}  // namespace sparrow::test
