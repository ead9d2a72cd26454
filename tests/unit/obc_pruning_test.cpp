// OBC's exact greedy pruning of one weight matrix (compression/obc_pruning.h), against the
// OBS losses it minimises and against SparseGPT on the same problems.
#include <gtest/gtest.h>

#include "compression/masked_least_squares.h"
#include "compression/obc_pruning.h"
#include "compression/sparsegpt.h"
#include "support/random_matrix.h"

namespace sparrow {
namespace {

using Eigen::MatrixXd;
using test::correlated_inputs;
using test::random_matrix;

int64_t zeros(const MatrixXd& m) { return (m.array() == 0).count(); }

compression::ObcOptions obc(double sparsity, int64_t run_length, int block, double damping = 0.01) {
  compression::ObcOptions o;
  o.sparsity = sparsity;
  o.run_length = run_length;
  o.block = block;
  o.damping = damping;
  return o;
}

// The pattern OBC chose with its kept weights refitted, as compress uses it.
MatrixXd obc_refitted(const MatrixXd& original, const MatrixXd& h, const compression::ObcOptions& o) {
  MatrixXd w = original;
  compression::obc_prune(w, h, o);
  compression::refit_kept_weights(w, original, h, o.damping);
  return w;
}

// 10 channels at 9 positions: blocks of 4, 4 and 2 consecutive channels.
TEST(ObcPruning, ZeroesTheTargetInWholeBlocks) {
  const MatrixXd x = correlated_inputs(90, 1000, 5);
  const MatrixXd original = random_matrix(6, 90, 6);
  for (int block : {1, 4}) {
    MatrixXd w = original;
    compression::obc_prune(w, x * x.transpose() / 1000.0, obc(0.6, 10, block));
    const int64_t target = std::llround(0.6 * 540);
    EXPECT_GE(zeros(w), target) << block;
    EXPECT_LT(zeros(w), target + block) << block;
    for (Eigen::Index r = 0; r < 6; ++r) {
      for (Eigen::Index k = 0; k < 9; ++k) {
        for (Eigen::Index c0 = 0; c0 < 10; c0 += block) {
          const Eigen::Index length = std::min<Eigen::Index>(block, 10 - c0);
          const auto n = (w.row(r).segment(k * 10 + c0, length).array() == 0).count();
          EXPECT_TRUE(n == 0 || n == length) << "row " << r << " block at " << k * 10 + c0 << " is cut";
          // Kept weights are left as they were, for the caller to refit.
          if (n == 0) {
            EXPECT_TRUE(w.row(r).segment(k * 10 + c0, length) == original.row(r).segment(k * 10 + c0, length));
          }
        }
      }
    }
  }
}

// One row, two blocks of 4, one to go: the cheaper by its exact group OBS loss, once the other
// block is refitted to make up for it.
TEST(ObcPruning, DropsTheBlockOfLeastGroupLoss) {
  for (uint64_t seed = 0; seed < 40; ++seed) {
    const MatrixXd x = correlated_inputs(8, 200, 100 + seed);
    const MatrixXd h = x * x.transpose() / 200.0;
    const MatrixXd original = random_matrix(1, 8, 200 + seed);
    const MatrixXd w = obc_refitted(original, h, obc(0.5, 8, 4, 0));
    const MatrixXd inverse = h.inverse();
    double best = 1e300;
    for (Eigen::Index first : {0, 4}) {
      const Eigen::VectorXd wb = original.row(0).segment(first, 4).transpose();
      best = std::min(best, wb.dot(inverse.block(first, first, 4, 4).llt().solve(wb)));
    }
    const MatrixXd delta = original - w;
    EXPECT_NEAR((delta * h * delta.transpose())(0, 0), best, 1e-9 * (1 + best)) << "seed " << seed;
  }
}

// Independent inputs: no drop changes another column's loss, so the greedy drops are the layer's
// blocks ranked by w_B·H_BB·w_Bᵀ, whichever rows they are in.
TEST(ObcPruning, OnIndependentInputsTheLayersCheapestBlocksGo) {
  Eigen::VectorXd variance = Eigen::VectorXd::LinSpaced(32, 0.1, 5.0);
  const MatrixXd h = variance.asDiagonal();
  const MatrixXd original = random_matrix(5, 32, 12);
  MatrixXd w = original;
  compression::obc_prune(w, h, obc(0.5, 32, 4, 0));
  std::vector<std::pair<double, bool>> blocks;  // (loss, dropped)
  for (Eigen::Index r = 0; r < 5; ++r) {
    for (Eigen::Index first = 0; first < 32; first += 4) {
      const Eigen::VectorXd wb = original.row(r).segment(first, 4).transpose();
      blocks.push_back({wb.dot(h.block(first, first, 4, 4) * wb), w(r, first) == 0});
    }
  }
  std::sort(blocks.begin(), blocks.end());
  for (size_t i = 0; i < blocks.size(); ++i) EXPECT_EQ(blocks[i].second, i < blocks.size() / 2) << "rank " << i;
}

// The rows share the zeros by what they cost, not evenly: a row of small weights gives more.
TEST(ObcPruning, RowsOfSmallWeightsGiveMoreZeros) {
  const MatrixXd x = correlated_inputs(64, 1000, 21);
  MatrixXd original = random_matrix(8, 64, 22);
  original.row(2) *= 0.05;
  MatrixXd w = original;
  compression::obc_prune(w, x * x.transpose() / 1000.0, obc(0.5, 64, 4));
  EXPECT_GT(zeros(w.row(2)), 48);
  EXPECT_EQ(zeros(w), 256);
}

// SparseGPT decides a lazy batch's zeros at once, from the saliencies at its start; OBC after
// each drop. On correlated inputs its refitted error is lower, at every sparsity and block.
TEST(ObcPruning, LessOutputErrorThanSparseGptOnCorrelatedInputs) {
  const MatrixXd x = correlated_inputs(72, 3000, 31);
  const MatrixXd h = x * x.transpose() / 3000.0;
  const MatrixXd original = random_matrix(12, 72, 32);
  for (int block : {1, 4}) {
    for (double sparsity : {0.3, 0.5, 0.7}) {
      MatrixXd sparsegpt = original;
      compression::SparseGptOptions o;
      o.sparsity = sparsity;
      o.run_length = 8;
      o.block = block;
      compression::sparsegpt_prune(sparsegpt, h, o);
      compression::refit_kept_weights(sparsegpt, original, h, o.damping);
      const MatrixXd greedy = obc_refitted(original, h, obc(sparsity, 8, block));
      EXPECT_LT(compression::relative_output_error(original, greedy, h),
                compression::relative_output_error(original, sparsegpt, h))
          << "block " << block << " sparsity " << sparsity;
    }
  }
}

TEST(ObcPruning, InputsNeverSeenGetZeroWeights) {
  MatrixXd x = correlated_inputs(20, 500, 7);
  x.row(3).setZero();
  MatrixXd w = random_matrix(4, 20, 8);
  compression::obc_prune(w, x * x.transpose() / 500.0, obc(0.25, 20, 1));
  EXPECT_TRUE((w.col(3).array() == 0).all());
  EXPECT_EQ(zeros(w), 20);
}

// yolov5n's largest layers (256 outputs of 128 channels x 3 x 3, 3.9e11) run on OBC; yolov5l's
// 3x3 convs of 512 channels (5e13) run on SparseGPT.
TEST(ObcPruning, AffordableUpToYolov5nsLargestLayers) {
  EXPECT_TRUE(compression::obc_affordable(256, 1152));
  EXPECT_FALSE(compression::obc_affordable(512, 4608));
  EXPECT_FALSE(compression::obc_affordable(1024, 1024));
}

}  // namespace
}  // namespace sparrow
