// Spreading a global sparsity over layers (the knapsack of sparsity_allocation.h) and refitting
// the kept weights on a fixed pattern (masked_least_squares.h).
#include <gtest/gtest.h>

#include <random>

#include "support/random_matrix.h"
#include "compression/masked_least_squares.h"
#include "compression/sparsity_allocation.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

using compression::LayerCost;
using Eigen::MatrixXd;

const std::vector<double> kLevels = {0, 0.25, 0.5, 0.75, 0.9};

LayerCost layer(int64_t weights, double scale) {
  LayerCost l;
  l.weights = weights;
  l.sparsities = kLevels;
  for (double s : kLevels) l.errors.push_back(scale * s * s);  // convex: each step costs more
  return l;
}

double mean_sparsity(const std::vector<LayerCost>& layers, const std::vector<double>& s) {
  double zeros = 0, total = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    zeros += s[i] * static_cast<double>(layers[i].weights);
    total += static_cast<double>(layers[i].weights);
  }
  return zeros / total;
}

TEST(SparsityAllocation, EqualLayersGetTheTargetEach) {
  const std::vector<LayerCost> layers = {layer(100, 1), layer(100, 1), layer(100, 1)};
  EXPECT_EQ(compression::allocate_sparsity(layers, 0.5), std::vector<double>({0.5, 0.5, 0.5}));
}

TEST(SparsityAllocation, TheLessSensitiveLayerTakesMoreAndTheTargetHolds) {
  const std::vector<LayerCost> layers = {layer(100, 10), layer(100, 0.1)};
  const std::vector<double> s = compression::allocate_sparsity(layers, 0.5);
  EXPECT_LT(s[0], s[1]);
  EXPECT_GE(mean_sparsity(layers, s), 0.5);
}

// A large layer taking a little more relieves a small one of much.
TEST(SparsityAllocation, WeightsCountNotLayers) {
  const std::vector<LayerCost> layers = {layer(1000, 1), layer(10, 1)};
  const std::vector<double> s = compression::allocate_sparsity(layers, 0.5);
  EXPECT_GE(mean_sparsity(layers, s), 0.5);
  EXPECT_LE(s[1], s[0]);
}

TEST(SparsityAllocation, AnUnreachableTargetIsAnError) {
  test::expect_error([] { compression::allocate_sparsity({layer(10, 1)}, 0.95); }, ErrorCode::kInvalidArgument,
                     {"sparsity 0.95 cannot be reached"});
}

using test::random_matrix;

double objective(const MatrixXd& w, const MatrixXd& t, const MatrixXd& h) {
  const MatrixXd d = w - t;
  return (d * h).cwiseProduct(d).sum();
}

TEST(MaskedLeastSquares, KeepsTheZerosAndNeverDoesWorse) {
  const MatrixXd x = random_matrix(12, 200, 1);
  const MatrixXd h = x * x.transpose() / 200.0;
  const MatrixXd target = random_matrix(5, 12, 2);
  MatrixXd w = target;
  for (Eigen::Index i = 0; i < w.size(); i += 2) w.data()[i] = 0;  // half the weights, as a pruner leaves them
  const MatrixXd before = w;
  compression::refit_kept_weights(w, target, h, 0.0);
  EXPECT_TRUE(((before.array() == 0) == (w.array() == 0)).all());
  EXPECT_LT(objective(w, target, h), objective(before, target, h));
  // Optimal: no step along a kept weight lowers the objective (its gradient there is 0).
  const MatrixXd gradient = (w - target) * h;
  for (Eigen::Index i = 0; i < w.size(); ++i) {
    if (w.data()[i] != 0) {
      EXPECT_NEAR(gradient.data()[i], 0, 1e-9);
    }
  }
}

TEST(MaskedLeastSquares, NoZerosGivesTheTargetBack) {
  const MatrixXd x = random_matrix(8, 100, 3);
  const MatrixXd target = random_matrix(4, 8, 4);
  MatrixXd w = target;
  compression::refit_kept_weights(w, target, x * x.transpose(), 0.01);
  EXPECT_TRUE(w.isApprox(target, 1e-9));
}

}  // namespace
}  // namespace sparrow
