// Times compiled candidate kernels on their node's shape, for the compiler's choice among rows:
// random inputs in the layouts each kernel asked for, one warm-up run each, then rounds in which
// every candidate runs once, each keeping its fastest run. On a shared machine another process
// only ever slows a run down, so the fastest is the least disturbed estimate, and taking turns
// exposes every candidate alike to a burst of load.
#pragma once

#include <vector>

#include "kernels/selection.h"

namespace sparrow::runtime {

// Milliseconds per execution of each of `candidates`, in order.
std::vector<double> time_selections(const std::vector<const kernels::Selection*>& candidates,
                                    const kernels::SelectContext& ctx);

}  // namespace sparrow::runtime
