// OBC (Frantar, Singh & Alistarh, 2022, "Optimal Brain Compression"): the exact greedy form of
// Optimal Brain Surgeon pruning, row by row. Each row of W drops, one at a time, the block whose
// removal costs the layer's output least given everything dropped before it, updating the rest of
// the row and its own inverse Hessian after each drop. The rows' sequences then share the layer's
// zeros: the next block comes from whichever row loses least by it.
#pragma once

#include <cstdint>

#include <Eigen/Dense>

namespace sparrow::compression {

struct ObcOptions {
  double sparsity = 0;    // round(sparsity x size) weights zeroed (blocks: at most a block more)
  int64_t run_length = 1; // as SparseGptOptions: runs of columns cut into blocks of `block`
  int block = 1;
  double damping = 0.01;  // λ added to H's diagonal, as a fraction of its mean
};

// Whether OBC's paths through a whole layer of `rows` x `columns` are cheap enough to compute:
// each drop updates the row's columns x columns inverse Hessian, so a layer costs about
// rows x columns³ multiply-adds. Beyond that SparseGPT chooses the pattern.
bool obc_affordable(Eigen::Index rows, Eigen::Index columns);

// Zeroes the blocks OBC chooses for options.sparsity in `w` (outputs x columns) and leaves the
// other weights as they were: the caller refits them (refit_kept_weights), which gives what the
// greedy OBS updates give. `h` is X·Xᵀ / n of the inputs; inputs never seen (H_jj = 0) have their
// weights zeroed. sparrow::Error (kInternal) when H, damped, is not positive definite.
void obc_prune(Eigen::MatrixXd& w, const Eigen::MatrixXd& h, const ObcOptions& options);

}  // namespace sparrow::compression
