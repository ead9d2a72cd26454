#include "kernels/onednn/conv_common.h"

namespace sparrow::kernels {

dnnl::memory::dims dims_minus(const std::vector<int64_t>& v, int64_t minus) {
  dnnl::memory::dims d;
  for (int64_t x : v) d.push_back(x - minus);
  return d;
}

dnnl::memory::dims weight_dims(const Shape& w, int64_t group, bool transposed) {
  dnnl::memory::dims d;
  const int64_t o = transposed ? w[1] * group : w[0];
  const int64_t i = transposed ? w[0] : w[1] * group;
  if (group > 1) d = {group, o / group, i / group};
  else d = {o, i};
  d.insert(d.end(), w.begin() + 2, w.end());
  return d;
}

// alpha is swish's beta (x * sigmoid(alpha * x)) and relu's negative slope.
void append_activation(dnnl::post_ops& post_ops, ops::Activation a, float scale) {
  switch (a) {
    case ops::Activation::kSilu: post_ops.append_eltwise(scale, dnnl::algorithm::eltwise_swish, 1.0f, 0.0f); break;
    case ops::Activation::kRelu: post_ops.append_eltwise(scale, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f); break;
    case ops::Activation::kSigmoid: post_ops.append_eltwise(scale, dnnl::algorithm::eltwise_logistic, 0.0f, 0.0f); break;
    case ops::Activation::kNone: break;
  }
}

}  // namespace sparrow::kernels
