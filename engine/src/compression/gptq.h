// GPTQ (Frantar et al., 2023): rounds a layer's weights to their INT8 grid column by column and
// takes each column's rounding error off the columns not yet rounded, so the layer's output on
// the calibration inputs moves less than rounding every weight on its own would move it.
#pragma once

#include <cstdint>

#include <Eigen/Dense>

namespace sparrow::compression {

// Symmetric per output channel, as the QDQ writer quantizes weights: row r's step is
// max |w_r| / 127 (1 for an all-zero row).
Eigen::VectorXd symmetric_int8_steps(const Eigen::MatrixXd& w);

// Rounds `w` (outputs x columns) in place to integers in [-127, 127] times `steps` (one per
// row), given `h` = X·Xᵀ / n (columns x columns). Weights that are zero stay zero: pruned
// weights are not brought back. sparrow::Error (kInternal) when H, damped, is not positive definite.
void gptq_quantize(Eigen::MatrixXd& w, Eigen::MatrixXd h, const Eigen::VectorXd& steps, double damping = 0.01,
                   int64_t lazy_batch = 128);

}  // namespace sparrow::compression
