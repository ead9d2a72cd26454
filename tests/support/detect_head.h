// A YOLOv5 Detect head as ONNX: a conv (FP32, or a QDQ conv with u8 input and s8 weights) and
// its decode. For the tests and the kernel benchmark of ConvSegmented.
#pragma once

#include <cstdint>

#include "sparrow/tensor.h"
#include "support/onnx_builder.h"

namespace sparrow::test {

struct Head {
  int64_t batch = 1, channels = 8, h = 4, w = 5, classes = 3;
  bool int8 = false;            // u8 input, s8 weights: a QLinearConv with a float output
  int64_t kernel = 1;           // 3: a 3x3 conv (padded), which bands cannot take
  bool conv_read_twice = false; // the conv's output is also a graph output
  int64_t outputs() const { return 3 * (4 + classes); }
};

// x -> Conv -> Sigmoid -> Reshape N x 3 x (4+classes) x H x W -> channels last -> the decode
// (xy = (2s + grid) * 8, wh = (2s)^2 * anchors, the rest 1 - s), as YOLOv5's Detect head.
OnnxBuilder head_model(const Head& c);
// A random input of the head's type and shape.
Tensor head_input(const Head& c);

}  // namespace sparrow::test
