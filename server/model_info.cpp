#include "model_info.h"

namespace sparrow::server {
void fill_engine_description(const PlanDescription& plan, v1::EngineDescription* out) {
  out->set_num_cores(plan.num_cores);
  out->set_isa(plan.isa);
  out->set_layers(static_cast<int32_t>(plan.layers.size()));
  for (const LayerInfo& layer : plan.layers) (*out->mutable_kernels())[layer.kernel]++;
  const LayerCounts c = count_layers(plan);
  out->set_dense_layers(c.dense);
  out->set_sparse_layers(c.sparse);
  out->set_int8_layers(c.int8);
  out->set_reference_layers(c.reference);
}

void fill_model_info(const Model& model, v1::ModelInfo* out) {
  const yolo::Detector& d = model.detector();
  out->set_name(model.name());
  for (int64_t dim : d.engine().inputs()[0].shape) out->add_input_shape(dim);
  out->set_max_batch_size(static_cast<int32_t>(d.batch_size()));
  for (int b : model.batch_sizes()) out->add_batch_sizes(b);
  for (const std::string& name : d.class_names()) out->add_class_names(name);
  out->set_ready(model.ready());
  out->set_path(model.path());
  fill_engine_description(d.engine().describe(), out->mutable_engine());
}

}  // namespace sparrow::server
