#include "compression/calibrator.h"

#include <algorithm>
#include <limits>

#include <opencv2/core.hpp>

#include "sparrow/engine.h"
#include "sparrow/error.h"
#include "sparrow/yolo/image_decoder.h"
#include "sparrow/yolo/letterbox.h"

namespace sparrow::compression {

Engine observing_engine(const onnx::ModelProto& model, const std::vector<std::string>& tensors, int num_cores) {
  onnx::ModelProto observed = model;
  std::vector<std::string> existing;
  for (const auto& out : model.graph().output()) existing.push_back(out.name());
  for (const auto& in : model.graph().input()) existing.push_back(in.name());
  for (const std::string& name : tensors) {
    if (std::find(existing.begin(), existing.end(), name) != existing.end()) continue;
    onnx::ValueInfoProto* out = observed.mutable_graph()->add_output();
    out->set_name(name);
    auto* type = out->mutable_type()->mutable_tensor_type();
    type->set_elem_type(onnx::TensorProto::FLOAT);
    type->mutable_shape();  // present for ONNX's checker; the engine infers every shape itself
  }
  CompileOptions options;
  options.batch_size = 1;
  options.num_cores = num_cores;
  return Engine::load_from_bytes(observed.SerializeAsString(), options);
}

const TensorSpec& image_input(const Engine& engine) {
  const auto& inputs = engine.inputs();
  if (inputs.size() != 1 || inputs[0].dtype != DType::kFloat32 || inputs[0].shape.size() != 4 || inputs[0].shape[1] != 3) {
    throw Error(ErrorCode::kUnsupported, "calibration feeds images: the model needs exactly one float input of shape Nx3xHxW");
  }
  return inputs[0];
}

Tensor letterboxed_image(const std::string& path, const TensorSpec& spec) {
  Tensor input(DType::kFloat32, spec.shape);
  const cv::Mat image = yolo::decode_image_file(path);
  yolo::letterbox(image, static_cast<int>(spec.shape[2]), static_cast<int>(spec.shape[3]), input.data_as<float>());
  return input;
}

namespace {

class Observer {
 public:
  Observer(const Engine& engine, const std::vector<std::string>& tensors) {
    for (const std::string& name : tensors) {
      if (name == engine.inputs()[0].name) {
        slots_.push_back({name, -1});
        continue;
      }
      for (size_t i = 0; i < engine.outputs().size(); ++i) {
        if (engine.outputs()[i].name == name) slots_.push_back({name, static_cast<int>(i)});
      }
    }
    for (const auto& slot : slots_) {
      stats_[slot.name].min = std::numeric_limits<float>::infinity();
      stats_[slot.name].max = -std::numeric_limits<float>::infinity();
    }
  }

  void observe(const Tensor& input, const std::vector<Tensor>& outputs, bool histograms) {
    for (const Slot& slot : slots_) {
      const Tensor& t = slot.output < 0 ? input : outputs[static_cast<size_t>(slot.output)];
      const float* v = t.data_as<float>();
      const size_t n = static_cast<size_t>(t.size());
      TensorStats& s = stats_[slot.name];
      if (histograms) {
        s.histogram->add(v, n);
        continue;
      }
      const auto [lo, hi] = std::minmax_element(v, v + n);
      s.min = std::min(s.min, *lo);
      s.max = std::max(s.max, *hi);
    }
  }

  void start_histograms() {
    for (auto& [name, s] : stats_) s.histogram = std::make_unique<Histogram>(s.min, s.max);
  }

  std::map<std::string, TensorStats> take() { return std::move(stats_); }

 private:
  struct Slot {
    std::string name;
    int output;  // engine output index; -1 for the input
  };
  std::vector<Slot> slots_;
  std::map<std::string, TensorStats> stats_;
};

}  // namespace

std::map<std::string, TensorStats> calibrate(const onnx::ModelProto& model, const std::vector<std::string>& tensors,
                                             const CalibrationOptions& options) {
  const Engine engine = observing_engine(model, tensors, options.num_cores);
  const TensorSpec& spec = image_input(engine);
  Observer observer(engine, tensors);
  const int passes = options.method == CalibrationMethod::kMinMax ? 1 : 2;
  const size_t runs = options.images.size() * static_cast<size_t>(passes);
  Tensor input(DType::kFloat32, spec.shape);
  std::vector<Tensor> outputs;
  for (int pass = 0; pass < passes; ++pass) {
    if (pass == 1) observer.start_histograms();
    for (size_t i = 0; i < options.images.size(); ++i) {
      const cv::Mat image = yolo::decode_image_file(options.images[i]);
      yolo::letterbox(image, static_cast<int>(spec.shape[2]), static_cast<int>(spec.shape[3]), input.data_as<float>());
      engine.run({input}, outputs);
      observer.observe(input, outputs, pass == 1);
      if (options.progress) options.progress(static_cast<size_t>(pass) * options.images.size() + i + 1, runs);
    }
  }
  return observer.take();
}

}  // namespace sparrow::compression
