// Stores each large float Constant that is a broadcast of a smaller tensor as that tensor and an
// Expand, exactly. YOLOv5 exports its anchor grids (1x3xHxWx2, one pair per anchor) this way,
// about 200 KB of float that would otherwise dominate an INT8 file. Runtimes fold the Expand
// back into a constant when they load the model.
#pragma once

#include <onnx/onnx_pb.h>

namespace sparrow::compression {

void factor_broadcast_constants(onnx::GraphProto& graph);

}  // namespace sparrow::compression
