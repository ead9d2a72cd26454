// Runs an op's reference implementation (ops::OpDef::evaluate) on plain row-major memory: the
// fallback for every op, and the whole plan when optimised kernels are switched off.
#pragma once

#include <memory>

#include "graph/graph.h"
#include "kernels/kernel.h"
#include "ops/op_registry.h"

namespace sparrow::kernels {

std::unique_ptr<Kernel> make_reference_kernel(const graph::Graph& g, const graph::Node& node);

}  // namespace sparrow::kernels
