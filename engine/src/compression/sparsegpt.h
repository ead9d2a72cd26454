// SparseGPT (Frantar & Alistarh, 2023): one-shot pruning of one weight matrix that chooses the
// weights (or blocks of weights) to zero by their OBS saliency and updates the weights kept so the layer's
// output on the calibration inputs changes as little as it can.
#pragma once

#include <cstdint>
#include <vector>

#include <Eigen/Dense>

namespace sparrow::compression {

struct SparseGptOptions {
  double sparsity = 0;     // exactly round(sparsity x size) weights zeroed (blocks: at most a block more)
  // Columns come in runs of `run_length` (a conv's input channels at one kernel position); each
  // run is cut into blocks of `block` columns (a shorter last one) that are pruned as one, within
  // a row. block 1: any weight on its own.
  int64_t run_length = 1;
  int block = 1;
  double damping = 0.01;   // λ added to H's diagonal, as a fraction of its mean
  int64_t lazy_batch = 128; // columns updated together before the rest of the matrix is
};

// The first column of each block of a row, then `columns`: the columns come in runs of
// `run_length` (a conv's input channels at one kernel position), each cut into blocks of `block`
// columns (a shorter last one).
std::vector<Eigen::Index> column_blocks(Eigen::Index columns, int64_t run_length, int block);

// Prunes `w` (outputs x columns) in place given `h` (columns x columns, X·Xᵀ / n of the inputs).
// Columns go in lazy batches; each batch zeroes as many weights as one ranking of the whole
// layer by OBS loss puts in it, so the sparsity may differ from one batch (kernel tap) to another.
// Inputs never seen (H_jj = 0) have their weights zeroed. sparrow::Error (kInternal) when H,
// damped, is not positive definite.
void sparsegpt_prune(Eigen::MatrixXd& w, Eigen::MatrixXd h, const SparseGptOptions& options);
// The same with the factor computed once for several runs: `u` = inverse_hessian_factor(w, H,
// options.damping) (obs_update.h), which has zeroed w's never-seen inputs already.
void sparsegpt_prune_factored(Eigen::MatrixXd& w, const Eigen::MatrixXd& u, const SparseGptOptions& options);

// ||ΔW X||² / ||W X||² over the inputs whose second moment is `h`: the relative output error.
double relative_output_error(const Eigen::MatrixXd& original, const Eigen::MatrixXd& pruned, const Eigen::MatrixXd& h);

}  // namespace sparrow::compression
