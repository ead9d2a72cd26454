#include "compression/model_file.h"

#include <cerrno>
#include <fstream>

#include <onnx/version_converter/convert.h>

#include "sparrow/error.h"
#include "sparrow/output_file.h"

namespace sparrow::compression {

void write_model(const onnx::ModelProto& model, const std::string& path) {
  errno = 0;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out || !model.SerializeToOstream(&out) || !out.flush()) throw write_failed(path);
}

void set_float_values(onnx::TensorProto& proto, const float* values, size_t count) {
  proto.clear_float_data();
  proto.clear_external_data();
  proto.clear_data_location();
  proto.set_raw_data(std::string(reinterpret_cast<const char*>(values), count * sizeof(float)));
}

int default_opset(const onnx::ModelProto& model) {
  for (const auto& entry : model.opset_import()) {
    if (entry.domain().empty() || entry.domain() == "ai.onnx") return static_cast<int>(entry.version());
  }
  throw Error(ErrorCode::kInvalidModel, "the model imports no default-domain opset");
}

void upgrade_opset(onnx::ModelProto& model, int opset) {
  if (default_opset(model) >= opset) return;
  onnx::ModelProto converted;
  try {
    converted = onnx::version_conversion::ConvertVersion(model, opset);
  } catch (const std::exception& e) {
    throw Error(ErrorCode::kUnsupported, "cannot convert the model from opset " + std::to_string(default_opset(model)) +
                                             " to " + std::to_string(opset) + ": " + e.what());
  }
  // The converter rebuilds the graph; what it does not carry over is copied back.
  *converted.mutable_metadata_props() = model.metadata_props();
  converted.set_producer_name(model.producer_name());
  converted.set_producer_version(model.producer_version());
  converted.set_doc_string(model.doc_string());
  model = std::move(converted);
}

}  // namespace sparrow::compression
