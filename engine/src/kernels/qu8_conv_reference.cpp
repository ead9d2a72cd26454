// The oracle of the sparse INT8 convolution: dense plain loops over NHWC u8 and OIHW s8, the
// integer sum of (x - x_zero) * w over the taps inside the image, then the dense row's epilogue
// (kernels/onednn/qlinear_conv_kernel.cpp), ONNX Runtime's: round((acc + bias) * ((x_scale *
// w_scale) / y_scale)) + y_zero, saturated, then the table if there is one, then the residual add
// if there is one. Independent of any packing.
#include <cmath>

#include "kernels/qu8_spconv.h"

namespace sparrow::kernels {
namespace {

int32_t dot(const Qu8SpconvGeometry& g, const uint8_t* x, const int8_t* w, int32_t x_zero, int64_t o, int64_t oy, int64_t ox) {
  int32_t acc = 0;
  for (int64_t ky = 0; ky < g.kh; ++ky) {
    const int64_t iy = oy * g.sh + ky - g.pad_top;
    if (iy < 0 || iy >= g.ih) continue;
    for (int64_t kx = 0; kx < g.kw; ++kx) {
      const int64_t ix = ox * g.sw + kx - g.pad_left;
      if (ix < 0 || ix >= g.iw) continue;
      for (int64_t c = 0; c < g.ic; ++c) {
        acc += (static_cast<int32_t>(x[(iy * g.iw + ix) * g.ic + c]) - x_zero) * w[((o * g.ic + c) * g.kh + ky) * g.kw + kx];
      }
    }
  }
  return acc;
}

}  // namespace

void qu8_conv_reference(const Qu8SpconvGeometry& g, int64_t n, const uint8_t* x, const int8_t* w,
                        const Qu8SpconvQuant& q, uint8_t* y, const uint8_t* residual) {
  for (int64_t b = 0; b < n; ++b) {
    const uint8_t* image = x + b * g.ih * g.iw * g.ic;
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        for (int64_t o = 0; o < g.oc; ++o) {
          const float w_scale = q.w_scale.size() > 1 ? q.w_scale[static_cast<size_t>(o)] : q.w_scale[0];
          const float scale = q.x_scale * w_scale / q.y_scale;
          const float bias = q.bias.empty() ? 0.0f : static_cast<float>(q.bias[static_cast<size_t>(o)]);
          const float v = (static_cast<float>(dot(g, image, w, q.x_zero, o, oy, ox)) + bias) * scale;
          const float r = std::fmin(std::fmax(std::nearbyint(v) + static_cast<float>(q.y_zero), 0.0f), 255.0f);
          const auto byte = static_cast<uint8_t>(r);
          const int64_t at = ((b * g.oh + oy) * g.ow + ox) * g.oc + o;
          y[at] = q.table.empty() ? byte : q.table[byte];
          if (q.add) q.add->apply(qu8_vadd_reference, 1, residual + at, y + at);
        }
      }
    }
  }
}

}  // namespace sparrow::kernels
