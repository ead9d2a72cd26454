#include "kserve_model.h"

namespace sparrow::server {
namespace {

void add_tensor(google::protobuf::RepeatedPtrField<inference::ModelMetadataResponse::TensorMetadata>* list,
                const std::string& name, const std::string& datatype, const std::vector<int64_t>& shape) {
  auto* t = list->Add();
  t->set_name(name);
  t->set_datatype(datatype);
  for (int64_t dim : shape) t->add_shape(dim);
}

}  // namespace

TensorLayout tensor_layout(const Model& model) {
  const Engine& engine = model.detector().engine();
  const Shape& in = engine.inputs()[0].shape;
  const Shape& out = engine.outputs()[0].shape;
  // The detector accepted the model, so these are N x 3 x H x W and N x anchors x (5 + classes).
  return {engine.inputs()[0].name, engine.outputs()[0].name, in[1], in[2], in[3], out[1], out[2]};
}

bool is_served_version(const std::string& version) { return version.empty() || version == kKServeVersion; }

void fill_model_metadata(const Model& model, inference::ModelMetadataResponse* out) {
  const TensorLayout t = tensor_layout(model);
  out->set_name(model.name());
  out->add_versions(std::string(kKServeVersion));
  out->set_platform("sparrow_onnx");
  add_tensor(out->mutable_inputs(), t.input_name, "FP32", {-1, t.channels, t.height, t.width});
  add_tensor(out->mutable_inputs(), kEncodedImagesInput, "BYTES", {-1});
  add_tensor(out->mutable_outputs(), t.output_name, "FP32", {-1, t.anchors, t.row});
  add_tensor(out->mutable_outputs(), kDetectionsOutput, "FP32", {-1, -1, kDetectionFields});
  add_tensor(out->mutable_outputs(), kDetectionCountsOutput, "INT32", {-1});
}

}  // namespace sparrow::server
