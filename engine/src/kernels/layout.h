// Memory layouts of runtime tensors. Plain means dense row-major; anything else is a oneDNN
// memory descriptor chosen by a primitive (blocked like nChw16c, or strided).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "sparrow/tensor.h"

namespace sparrow::kernels {

struct Layout {
  std::optional<dnnl::memory::desc> desc;  // nullopt: plain row-major

  static Layout plain() { return {}; }
  bool is_plain() const { return !desc.has_value(); }
  bool operator==(const Layout& other) const;
};

bool onednn_supports(DType dtype);
dnnl::memory::data_type onednn_dtype(DType dtype);
dnnl::memory::dims onednn_dims(const Shape& shape);  // rank 0 becomes {1}
// The dense row-major descriptor of a shape.
dnnl::memory::desc plain_desc(DType dtype, const Shape& shape);
// desc for a layout (plain_desc when plain).
dnnl::memory::desc desc_of(const Layout& layout, DType dtype, const Shape& shape);
// A layout from a descriptor, normalised to plain() when it is dense row-major.
Layout layout_of(const dnnl::memory::desc& desc, DType dtype, const Shape& shape);
// Channels last (NHWC for a 4-D shape): what the sparse rows and oneDNN's int8 convs read and write.
Layout nhwc_layout(DType dtype, const Shape& shape);
// Channels in blocks of 4, each block a plane of pixels ([N][C/4][H][W][4], oneDNN's aBcd4b):
// the sparse INT8 convs' planar layout (kernels/qu8_spconv.h).
Layout channel_block4_layout(DType dtype, const Shape& shape);
size_t layout_bytes(const Layout& layout, DType dtype, const Shape& shape);
// Plain, or blocked with neither padding (a block that does not divide its dim) nor an offset:
// the memory holds each element once and nothing else, so elementwise kernels may run on it as
// on a flat array.
bool holds_each_element_once(const Layout& layout, DType dtype, const Shape& shape);
// The same strides and blocks for another data type (u8 to s8, u8 to f32).
Layout with_dtype(const Layout& layout, DType dtype, const Shape& shape);
// The element strides of a layout that is plain or strided without blocks or offset (NHWC is);
// nullopt for blocked or opaque layouts.
std::optional<std::vector<int64_t>> element_strides(const Layout& layout, const Shape& shape);
// The layout of `from` reshaped to `to` without moving data: a strided view of the same memory.
// nullopt when the reshape would merge dims that are not contiguous (the data would have to move).
std::optional<Layout> reshaped_layout(const Layout& layout, DType dtype, const Shape& from, const Shape& to);
// "plain", or oneDNN's format string such as "aBcd16b".
std::string layout_name(const Layout& layout);

}  // namespace sparrow::kernels
