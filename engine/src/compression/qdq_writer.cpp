#include "compression/qdq_writer.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "onnx/tensor_proto.h"
#include "sparrow/error.h"

namespace sparrow::compression {
namespace {

template <typename T>
onnx::TensorProto make_tensor(const std::string& name, onnx::TensorProto::DataType type, std::vector<int64_t> dims,
                              const std::vector<T>& values) {
  onnx::TensorProto t;
  t.set_name(name);
  t.set_data_type(type);
  for (int64_t d : dims) t.add_dims(d);
  t.set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T)));
  return t;
}

onnx::NodeProto make_node(const std::string& op, const std::string& name, std::vector<std::string> inputs,
                          const std::string& output, int64_t axis = -1) {
  onnx::NodeProto n;
  n.set_op_type(op);
  n.set_name(name);
  for (const std::string& in : inputs) n.add_input(in);
  n.add_output(output);
  if (axis >= 0) {
    onnx::AttributeProto* a = n.add_attribute();
    a->set_name("axis");
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(axis);
  }
  return n;
}

struct QuantizedWeights {
  std::vector<int8_t> values;
  std::vector<float> scales;  // per output channel
};

// Symmetric per output channel, on [-127, 127] so that negation stays exact; on `steps` when
// given (weights already rounded to them), else on max |w| / 127.
QuantizedWeights quantize_weights(const Tensor& w, const std::vector<float>* steps) {
  const int64_t channels = w.shape()[0], per_channel = w.size() / channels;
  QuantizedWeights q{std::vector<int8_t>(static_cast<size_t>(w.size())), std::vector<float>(static_cast<size_t>(channels))};
  const float* src = w.data_as<float>();
  for (int64_t c = 0; c < channels; ++c) {
    float peak = 0;
    for (int64_t i = 0; i < per_channel; ++i) peak = std::max(peak, std::fabs(src[c * per_channel + i]));
    const float scale = steps ? (*steps)[static_cast<size_t>(c)] : peak > 0 ? peak / 127.0f : 1.0f;
    q.scales[static_cast<size_t>(c)] = scale;
    for (int64_t i = 0; i < per_channel; ++i) {
      const float v = std::clamp(std::nearbyint(src[c * per_channel + i] / scale), -127.0f, 127.0f);
      q.values[static_cast<size_t>(c * per_channel + i)] = static_cast<int8_t>(v);
    }
  }
  return q;
}

class Writer {
 public:
  Writer(onnx::GraphProto& graph, const QuantizationPlan& plan, const std::map<std::string, U8Grid>& grids,
         const WeightSteps& steps)
      : graph_(graph), plan_(plan), grids_(grids), steps_(steps) {
    for (const auto& init : graph.initializer()) initializers_[init.name()] = &init;
    for (const auto& node : graph.node()) {
      names_.insert(node.name());
      for (const auto& out : node.output()) names_.insert(out);
    }
    for (const auto& in : graph.input()) names_.insert(in.name());
    for (const auto& init : graph.initializer()) names_.insert(init.name());
  }

  void run() {
    for (const auto& [tensor, grid] : grids_) add_grid_constants(tensor, grid);
    std::vector<onnx::NodeProto> weight_nodes;
    for (int index : plan_.int8_convs) quantize_conv_constants(*graph_.mutable_node(index), true, weight_nodes);
    for (int index : plan_.weight_only_convs) quantize_conv_constants(*graph_.mutable_node(index), false, weight_nodes);
    rebuild_nodes(std::move(weight_nodes));
    drop_unused_initializers();
  }

 private:
  std::string fresh(const std::string& base) {
    std::string name = base;
    for (int i = 1; !names_.insert(name).second; ++i) name = base + "_" + std::to_string(i);
    return name;
  }

  const std::string& source_of(const std::string& tensor) const {
    const auto shared = plan_.shares_grid_of.find(tensor);
    return shared == plan_.shares_grid_of.end() ? tensor : shared->second;
  }

  void add_grid_constants(const std::string& tensor, const U8Grid& grid) {
    const std::string scale = fresh(tensor + "_scale"), zero = fresh(tensor + "_zero_point");
    *graph_.add_initializer() = make_tensor<float>(scale, onnx::TensorProto::FLOAT, {}, {grid.scale});
    *graph_.add_initializer() = make_tensor<uint8_t>(zero, onnx::TensorProto::UINT8, {}, {grid.zero_point});
    grid_names_[tensor] = {scale, zero};
  }

  Tensor float_initializer(const std::string& name) const {
    const auto it = initializers_.find(name);
    if (it == initializers_.end()) throw Error(ErrorCode::kInternal, "'" + name + "' is not an initializer");
    Tensor t = onnx_import::tensor_from_proto(*it->second, "initializer '" + name + "'");
    if (t.dtype() != DType::kFloat32) throw Error(ErrorCode::kUnsupported, "initializer '" + name + "' is not float");
    return t;
  }

  // Replaces the conv's weights (and bias) by s8 (s32) initializers behind DequantizeLinear.
  // The bias goes on the accumulator's grid only where the input is quantized too.
  void quantize_conv_constants(onnx::NodeProto& conv, bool with_bias, std::vector<onnx::NodeProto>& nodes) {
    const std::string base = conv.input(1);
    if (!quantized_weights_.count(base)) quantize_weights_of(base, nodes);
    const auto& [wd, scales] = quantized_weights_.at(base);
    conv.set_input(1, wd);
    if (with_bias && conv.input_size() > 2 && !conv.input(2).empty()) quantize_bias(conv, scales, nodes);
  }

  void quantize_weights_of(const std::string& base, std::vector<onnx::NodeProto>& nodes) {
    const Tensor w = float_initializer(base);
    const auto given = steps_.find(base);
    if (given != steps_.end() && given->second.size() != static_cast<size_t>(w.shape()[0])) {
      throw Error(ErrorCode::kInternal, "INT8 steps of '" + base + "' do not match its output channels");
    }
    const QuantizedWeights q = quantize_weights(w, given == steps_.end() ? nullptr : &given->second);
    const int64_t channels = w.shape()[0];
    const std::string wq = fresh(base + "_quantized"), ws = fresh(base + "_scale");
    *graph_.add_initializer() = make_tensor<int8_t>(wq, onnx::TensorProto::INT8, w.shape(), q.values);
    *graph_.add_initializer() = make_tensor<float>(ws, onnx::TensorProto::FLOAT, {channels}, q.scales);
    // No zero point: it is optional and 0 by default, and symmetric weights have 0.
    const std::string wd = fresh(base + "_dequantized");
    nodes.push_back(make_node("DequantizeLinear", fresh(base + "_DequantizeLinear"), {wq, ws}, wd, 0));
    quantized_weights_[base] = {wd, q.scales};
  }

  void quantize_bias(onnx::NodeProto& conv, const std::vector<float>& w_scales, std::vector<onnx::NodeProto>& nodes) {
    const Tensor b = float_initializer(conv.input(2));
    const float x_scale = grids_.at(source_of(conv.input(0))).scale;
    std::vector<int32_t> values(w_scales.size());
    std::vector<float> scales(w_scales.size());
    for (size_t c = 0; c < values.size(); ++c) {
      scales[c] = x_scale * w_scales[c];
      const double v = std::nearbyint(static_cast<double>(b.data_as<float>()[c]) / scales[c]);
      values[c] = static_cast<int32_t>(std::clamp(v, -2147483647.0, 2147483647.0));
    }
    const std::string base = conv.input(2);
    const int64_t n = static_cast<int64_t>(values.size());
    const std::string bq = fresh(base + "_quantized"), bs = fresh(base + "_scale");
    *graph_.add_initializer() = make_tensor<int32_t>(bq, onnx::TensorProto::INT32, {n}, values);
    *graph_.add_initializer() = make_tensor<float>(bs, onnx::TensorProto::FLOAT, {n}, scales);
    const std::string bd = fresh(base + "_dequantized");
    nodes.push_back(make_node("DequantizeLinear", fresh(base + "_DequantizeLinear"), {bq, bs}, bd, 0));
    conv.set_input(2, bd);
  }

  // Q and DQ after `tensor`; consumers read the DQ output from then on.
  void append_qdq(const std::string& tensor, std::vector<onnx::NodeProto>& nodes) {
    const auto& [scale, zero] = grid_names_.at(source_of(tensor));
    const std::string q = fresh(tensor + "_quantized"), dq = fresh(tensor + "_dequantized");
    nodes.push_back(make_node("QuantizeLinear", fresh(tensor + "_QuantizeLinear"), {tensor, scale, zero}, q));
    nodes.push_back(make_node("DequantizeLinear", fresh(tensor + "_DequantizeLinear"), {q, scale, zero}, dq));
    dequantized_[tensor] = dq;
  }

  bool is_quantized(const std::string& tensor) const {
    return grids_.count(tensor) > 0 || plan_.shares_grid_of.count(tensor) > 0;
  }

  void rebuild_nodes(std::vector<onnx::NodeProto> nodes) {
    for (const auto& in : graph_.input()) {
      if (is_quantized(in.name())) append_qdq(in.name(), nodes);
    }
    for (const onnx::NodeProto& original : graph_.node()) {
      onnx::NodeProto node = original;
      for (int i = 0; i < node.input_size(); ++i) {
        const auto dq = dequantized_.find(node.input(i));
        if (dq != dequantized_.end()) node.set_input(i, dq->second);
      }
      nodes.push_back(node);
      for (const std::string& out : original.output()) {
        if (is_quantized(out)) append_qdq(out, nodes);
      }
    }
    graph_.clear_node();
    for (onnx::NodeProto& node : nodes) *graph_.add_node() = std::move(node);
  }

  void drop_unused_initializers() {
    std::set<std::string> used;
    for (const auto& node : graph_.node()) used.insert(node.input().begin(), node.input().end());
    for (const auto& out : graph_.output()) used.insert(out.name());
    auto* inits = graph_.mutable_initializer();
    inits->erase(std::remove_if(inits->begin(), inits->end(), [&](const onnx::TensorProto& t) { return !used.count(t.name()); }),
                 inits->end());
  }

  onnx::GraphProto& graph_;
  const QuantizationPlan& plan_;
  const std::map<std::string, U8Grid>& grids_;
  const WeightSteps& steps_;
  std::map<std::string, const onnx::TensorProto*> initializers_;
  std::set<std::string> names_;
  std::map<std::string, std::pair<std::string, std::string>> grid_names_;  // tensor -> scale, zero point
  std::map<std::string, std::string> dequantized_;
  // float weight name -> its DequantizeLinear output and per-channel scales (shared weights once)
  std::map<std::string, std::pair<std::string, std::vector<float>>> quantized_weights_;
};

}  // namespace

void write_qdq(onnx::GraphProto& graph, const QuantizationPlan& plan, const std::map<std::string, U8Grid>& grids,
               const WeightSteps& steps) {
  Writer(graph, plan, grids, steps).run();
}

}  // namespace sparrow::compression
