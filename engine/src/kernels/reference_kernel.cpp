#include "kernels/reference_kernel.h"

namespace sparrow::kernels {
namespace {

class ReferenceKernel final : public Kernel {
 public:
  ReferenceKernel(const graph::Graph& g, const graph::Node& node) : node_(node), def_(ops::find_op(node.op)) {
    for (int v : node.inputs) inputs_.push_back(v == graph::kNoValue ? ops::TensorView{} : view_of(g.values[v]));
    for (int v : node.outputs) outputs_.push_back(view_of(g.values[v]));
  }

  void execute(const KernelArgs& args, ExecContext&) const override {
    std::vector<ops::TensorView> in = inputs_;
    std::vector<ops::TensorView> out = outputs_;
    for (size_t i = 0; i < in.size(); ++i) in[i].data = args.inputs[i];
    for (size_t i = 0; i < out.size(); ++i) out[i].data = args.outputs[i];
    def_->evaluate(node_, in, out);
  }

 private:
  static ops::TensorView view_of(const graph::Value& v) { return {v.dtype, v.shape, nullptr}; }

  graph::Node node_;
  const ops::OpDef* def_;
  std::vector<ops::TensorView> inputs_;
  std::vector<ops::TensorView> outputs_;
};

}  // namespace

std::unique_ptr<Kernel> make_reference_kernel(const graph::Graph& g, const graph::Node& node) {
  return std::make_unique<ReferenceKernel>(g, node);
}

}  // namespace sparrow::kernels
