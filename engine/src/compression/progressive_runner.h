// Runs a model on a fixed set of images up to some of its tensors, pass after pass, keeping the
// tensors that later passes will read: each pass computes only what lies between what is kept
// and what it is asked for. Layer-by-layer pruning asks for each layer's inputs in graph order,
// so the whole network runs about once per image instead of once per layer.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <onnx/onnx_pb.h>

#include "sparrow/tensor.h"

namespace sparrow::compression {

class ProgressiveRunner {
 public:
  // `images` (each the model's one input) outlive the runner.
  ProgressiveRunner(const std::vector<Tensor>& images, std::string input_name, int num_cores);

  // Computes `targets` on every image with `model`. The model may change between passes only in
  // parts that no kept tensor depends on: a tensor computed is kept as it is while a later pass
  // may read it.
  void advance(const onnx::ModelProto& model, const std::vector<std::string>& targets);
  // A target of the last advance (or the input) on image `n`.
  const Tensor& tensor(const std::string& name, size_t n) const;
  // Applies `change` to a target of the last advance on every image: later passes read it changed.
  void change(const std::string& name, const std::function<void(Tensor&)>& change);
  // Drops the kept tensors that every node run so far has consumed (call after reading targets).
  void release(const onnx::GraphProto& graph);

 private:
  onnx::ModelProto part(const onnx::ModelProto& model, const std::vector<std::string>& wanted, std::set<int>& nodes,
                        std::vector<std::string>& inputs) const;
  std::vector<std::string> frontier(const onnx::GraphProto& graph, const std::set<int>& nodes) const;

  const std::vector<Tensor>& images_;
  std::string input_name_;
  int num_cores_;
  std::map<std::string, std::vector<Tensor>> kept_;  // tensor name -> one per image
  std::set<int> computed_;                           // node indices run by some pass
};

}  // namespace sparrow::compression
