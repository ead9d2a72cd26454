#include "compression/obc_pruning.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <queue>
#include <vector>

#include "compression/obs_update.h"
#include "compression/sparsegpt.h"

namespace sparrow::compression {
namespace {

using Eigen::Index;
using Eigen::MatrixXd;
using Eigen::VectorXd;
// A block's own square of the inverse Hessian: at most 4 x 4 (`--block` is 1 or 4), off the heap.
using Small = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, 0, 4, 4>;
using SmallVector = Eigen::Matrix<double, Eigen::Dynamic, 1, 0, 4, 1>;

// H⁻¹ is symmetric, and only its lower triangle is kept up to date: each drop's update of it is
// most of what a row costs, and updating half of it halves the memory it moves.

// Column block [first, first + size) of the symmetric H⁻¹, from its lower triangle.
MatrixXd columns_of(const MatrixXd& hinv, Index first, Index size) {
  MatrixXd c(hinv.rows(), size);
  c.topRows(first) = hinv.block(first, 0, size, first).transpose();
  c.bottomRows(hinv.rows() - first) = hinv.block(first, first, hinv.rows() - first, size);
  c.middleRows(first, size) = Small(hinv.block(first, first, size, size)).selfadjointView<Eigen::Lower>();
  return c;
}

// The exact OBS loss of dropping block [first, first + size) of `w` now: w_B [(H⁻¹)_BB]⁻¹ w_Bᵀ.
double drop_loss(const VectorXd& w, const MatrixXd& hinv, Index first, Index size) {
  if (size == 1) return w(first) * w(first) / hinv(first, first);
  const Small s = Small(hinv.block(first, first, size, size)).selfadjointView<Eigen::Lower>();
  const SmallVector wb = w.segment(first, size);
  return wb.dot(s.llt().solve(wb));
}

// One row's greedy path: the blocks in the order it drops them, and what each drop costs.
struct RowPath {
  std::vector<Index> order;
  std::vector<double> cost;
};

// Drops up to `drops` blocks of row `w`, each the cheapest left, updating w and its own H⁻¹ as
// OBS does: w -= H⁻¹[:,B]·[(H⁻¹)_BB]⁻¹·w_B, H⁻¹ -= H⁻¹[:,B]·[(H⁻¹)_BB]⁻¹·H⁻¹[B,:].
RowPath greedy_row(VectorXd w, MatrixXd hinv, const std::vector<Index>& starts, size_t drops) {
  const size_t blocks = starts.size() - 1;
  std::vector<bool> gone(blocks, false);
  RowPath path;
  for (size_t step = 0; step < drops; ++step) {
    double best = std::numeric_limits<double>::infinity();
    size_t pick = blocks;
    for (size_t b = 0; b < blocks; ++b) {
      if (gone[b]) continue;
      const double loss = drop_loss(w, hinv, starts[b], starts[b + 1] - starts[b]);
      if (loss < best) best = loss, pick = b;
    }
    if (pick == blocks) break;
    const Index first = starts[pick], size = starts[pick + 1] - starts[pick];
    const MatrixXd column = columns_of(hinv, first, size);
    const Eigen::LLT<Small> llt(Small(column.middleRows(first, size)));
    w.noalias() -= column * llt.solve(SmallVector(w.segment(first, size)));
    w.segment(first, size).setZero();
    // U·Uᵀ = H⁻¹[:,B]·[(H⁻¹)_BB]⁻¹·H⁻¹[B,:] with U = H⁻¹[:,B]·L⁻ᵀ, L the block's Cholesky factor.
    const MatrixXd u = llt.matrixL().solve(column.transpose()).transpose();
    hinv.selfadjointView<Eigen::Lower>().rankUpdate(u, -1.0);
    gone[pick] = true;
    path.order.push_back(static_cast<Index>(pick));
    path.cost.push_back(best);
  }
  return path;
}

// The layer's zeros shared among the rows: the next drop is always the cheapest next step of any
// row's path, until `target` weights are zeroed. The other weights stay as they were.
void apply_cheapest_drops(MatrixXd& w, const std::vector<RowPath>& paths, const std::vector<Index>& starts, int64_t target) {
  using Next = std::pair<double, size_t>;  // (cost of the row's next drop, row)
  std::priority_queue<Next, std::vector<Next>, std::greater<>> next;
  std::vector<size_t> taken(paths.size(), 0);
  for (size_t r = 0; r < paths.size(); ++r) {
    if (!paths[r].cost.empty()) next.push({paths[r].cost[0], r});
  }
  int64_t zeroed = 0;
  while (zeroed < target && !next.empty()) {
    const size_t r = next.top().second;
    next.pop();
    const Index b = paths[r].order[taken[r]++];
    w.row(static_cast<Index>(r)).segment(starts[b], starts[b + 1] - starts[b]).setZero();
    zeroed += starts[b + 1] - starts[b];
    if (taken[r] < paths[r].cost.size()) next.push({paths[r].cost[taken[r]], r});
  }
}

// yolov5n's largest layers are 256 x 1152 columns (3.9e11); with every layer on OBC, compressing
// yolov5n at 50 % took 4 min 35 s on 2 cores, against 2 min 40 s with SparseGPT's patterns.
constexpr double kObcMaxWork = 4e11;

}  // namespace

bool obc_affordable(Index rows, Index columns) {
  const double c = static_cast<double>(columns);
  return static_cast<double>(rows) * c * c * c <= kObcMaxWork;
}

void obc_prune(MatrixXd& w, const MatrixXd& h, const ObcOptions& options) {
  const auto target = static_cast<int64_t>(std::llround(options.sparsity * static_cast<double>(w.size())));
  if (target == 0) return;
  const std::vector<Index> starts = column_blocks(w.cols(), options.run_length, options.block);
  const MatrixXd hinv = inverse_hessian(w, h, options.damping);
  // Each row's path goes far enough that the rows can share the zeros unevenly: up to twice the
  // layer's share, and at least a tenth of the row beyond it.
  const double reach = std::min(1.0, std::max(2 * options.sparsity, options.sparsity + 0.1));
  const auto drops = static_cast<size_t>(std::ceil(reach * static_cast<double>(starts.size() - 1)));
  std::vector<RowPath> paths(static_cast<size_t>(w.rows()));
#pragma omp parallel for schedule(dynamic)
  for (Index r = 0; r < w.rows(); ++r) paths[static_cast<size_t>(r)] = greedy_row(w.row(r).transpose(), hinv, starts, drops);
  apply_cheapest_drops(w, paths, starts, target);
}

}  // namespace sparrow::compression
