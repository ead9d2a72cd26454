// Times a compiled candidate kernel on its node's shape, for the compiler's "fastest" policy:
// random inputs in the layouts the kernel asked for, one warm-up run, then the median of a few.
#pragma once

#include "kernels/selection.h"

namespace sparrow::runtime {

// Milliseconds per execution.
double time_selection(const kernels::Selection& selection, const kernels::SelectContext& ctx);

}  // namespace sparrow::runtime
