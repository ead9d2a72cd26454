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

}  // namespace sparrow::test
