// Seeded random inputs for benchmarks and profiles: real numbers in [0, 1), never uninitialised
// memory (which can hold NaNs and denormals that slow kernels down).
#pragma once

#include <cstdint>
#include <vector>

#include "sparrow/engine.h"

namespace sparrow::runtime {

std::vector<Tensor> random_inputs(const std::vector<TensorSpec>& specs, uint64_t seed);

}  // namespace sparrow::runtime
