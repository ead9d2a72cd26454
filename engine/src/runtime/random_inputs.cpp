#include "runtime/random_inputs.h"

#include <random>

namespace sparrow::runtime {

std::vector<Tensor> random_inputs(const std::vector<TensorSpec>& specs, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Tensor> out;
  for (const TensorSpec& spec : specs) {
    Tensor t(spec.dtype, spec.shape);
    if (spec.dtype == DType::kFloat32) {
      std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
      float* p = t.data_as<float>();
      for (int64_t i = 0; i < t.size(); ++i) p[i] = uniform(rng);
    } else if (spec.dtype == DType::kUint8) {
      uint8_t* p = t.data_as<uint8_t>();
      for (int64_t i = 0; i < t.size(); ++i) p[i] = static_cast<uint8_t>(rng());
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace sparrow::runtime
