#include "kernels/layout.h"

#include <algorithm>
#include <vector>

#include "sparrow/error.h"

namespace sparrow::kernels {

bool Layout::operator==(const Layout& other) const {
  if (is_plain() || other.is_plain()) return is_plain() == other.is_plain();
  return *desc == *other.desc;
}

bool onednn_supports(DType dtype) {
  return dtype == DType::kFloat32 || dtype == DType::kUint8 || dtype == DType::kInt8 || dtype == DType::kInt32;
}

dnnl::memory::data_type onednn_dtype(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return dnnl::memory::data_type::f32;
    case DType::kUint8: return dnnl::memory::data_type::u8;
    case DType::kInt8: return dnnl::memory::data_type::s8;
    case DType::kInt32: return dnnl::memory::data_type::s32;
    default: break;
  }
  throw Error(ErrorCode::kInternal, std::string("oneDNN has no ") + dtype_name(dtype));
}

dnnl::memory::dims onednn_dims(const Shape& shape) {
  if (shape.empty()) return {1};
  return dnnl::memory::dims(shape.begin(), shape.end());
}

dnnl::memory::desc plain_desc(DType dtype, const Shape& shape) {
  dnnl::memory::dims dims = onednn_dims(shape);
  dnnl::memory::dims strides(dims.size(), 1);
  for (size_t i = dims.size() - 1; i-- > 0;) strides[i] = strides[i + 1] * std::max<int64_t>(dims[i + 1], 1);
  return dnnl::memory::desc(dims, onednn_dtype(dtype), strides);
}

dnnl::memory::desc desc_of(const Layout& layout, DType dtype, const Shape& shape) {
  return layout.is_plain() ? plain_desc(dtype, shape) : *layout.desc;
}

Layout layout_of(const dnnl::memory::desc& desc, DType dtype, const Shape& shape) {
  if (desc == plain_desc(dtype, shape)) return Layout::plain();
  return Layout{desc};
}

size_t layout_bytes(const Layout& layout, DType dtype, const Shape& shape) {
  if (layout.is_plain()) return static_cast<size_t>(num_elements(shape)) * dtype_size(dtype);
  return layout.desc->get_size();
}

bool holds_each_element_once(const Layout& layout, DType dtype, const Shape& shape) {
  if (layout.is_plain()) return true;
  const dnnl_memory_desc_t& md = layout.desc->data;
  return md.format_kind == dnnl_blocked && md.offset0 == 0 &&
         layout_bytes(layout, dtype, shape) == static_cast<size_t>(num_elements(shape)) * dtype_size(dtype);
}

Layout with_dtype(const Layout& layout, DType dtype, const Shape& shape) {
  if (layout.is_plain()) return layout;
  dnnl::memory::desc desc = *layout.desc;
  desc.data.data_type = static_cast<dnnl_data_type_t>(onednn_dtype(dtype));
  return layout_of(desc, dtype, shape);
}

// oneDNN-style format tag ("aBcd16b"): dims ordered by stride, outer letters upper-case where
// the dim is also blocked, then the inner blocks.
std::string layout_name(const Layout& layout) {
  if (layout.is_plain()) return "plain";
  const dnnl_memory_desc_t& md = layout.desc->data;
  if (md.format_kind != dnnl_blocked) return "opaque";
  const dnnl_blocking_desc_t& blk = md.format_desc.blocking;
  std::vector<int> order(md.ndims);
  for (int i = 0; i < md.ndims; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return blk.strides[a] > blk.strides[b]; });
  std::string tag;
  for (int d : order) {
    bool blocked = false;
    for (int k = 0; k < blk.inner_nblks; ++k) blocked = blocked || blk.inner_idxs[k] == d;
    tag += static_cast<char>((blocked ? 'A' : 'a') + d);
  }
  for (int k = 0; k < blk.inner_nblks; ++k) tag += std::to_string(blk.inner_blks[k]) + static_cast<char>('a' + blk.inner_idxs[k]);
  return tag;
}

}  // namespace sparrow::kernels
