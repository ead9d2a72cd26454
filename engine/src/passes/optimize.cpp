#include "passes/passes.h"

namespace sparrow::passes {

void optimize(graph::Graph& g, const CompileOptions& options) {
  const BatchRewrite batch = bind_inputs(g, options);
  infer_and_fold(g, batch, options.max_memory_bytes);
  remove_identities(g);
  eliminate_dead_nodes(g);
  fuse_silu(g);
  hoist_activations(g);
  fuse_conv_activation(g);
  fuse_qdq_conv(g);
  fuse_qdq_passthrough(g);
  fuse_qdq_add(g);
  fuse_qdq_lut(g);
  eliminate_dead_nodes(g);  // the DequantizeLinears the QDQ passes left would count as readers
  fuse_conv_lookup(g);
  fuse_conv_residual(g);
  fuse_segmented_elementwise(g);
  eliminate_dead_nodes(g);
  fuse_conv_segmented(g);
  sink_dequantize(g);
}

}  // namespace sparrow::passes
