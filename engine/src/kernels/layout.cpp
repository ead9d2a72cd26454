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

Layout nhwc_layout(DType dtype, const Shape& shape) {
  return layout_of(dnnl::memory::desc(onednn_dims(shape), onednn_dtype(dtype), dnnl::memory::format_tag::nhwc), dtype, shape);
}

Layout channel_block4_layout(DType dtype, const Shape& shape) {
  return layout_of(dnnl::memory::desc(onednn_dims(shape), onednn_dtype(dtype), dnnl::memory::format_tag::aBcd4b), dtype, shape);
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

std::optional<std::vector<int64_t>> element_strides(const Layout& layout, const Shape& shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  if (layout.is_plain()) {
    for (size_t i = shape.size(); i-- > 1;) strides[i - 1] = strides[i] * shape[i];
    return strides;
  }
  const dnnl_memory_desc_t& md = layout.desc->data;
  if (md.format_kind != dnnl_blocked || md.format_desc.blocking.inner_nblks != 0 || md.offset0 != 0 ||
      md.ndims != static_cast<int>(shape.size())) {
    return std::nullopt;
  }
  for (size_t i = 0; i < shape.size(); ++i) strides[i] = md.format_desc.blocking.strides[i];
  return strides;
}

namespace {

// Strides for `to` over memory holding `from` with `strides`, as numpy reshapes without a copy:
// walk both shapes in groups of equal element count; a group of `from` dims must be contiguous
// in memory, and the `to` dims of the group then split its innermost stride.
std::optional<std::vector<int64_t>> reshape_strides(const Shape& from, const std::vector<int64_t>& strides, const Shape& to) {
  std::vector<int64_t> dims, st;
  for (size_t i = 0; i < from.size(); ++i) {
    if (from[i] != 1) dims.push_back(from[i]), st.push_back(strides[i]);
  }
  std::vector<int64_t> out(to.size(), 0);
  size_t oi = 0, ni = 0;
  while (ni < to.size() && oi < dims.size()) {
    if (to[ni] == 1) {
      ++ni;
      continue;
    }
    size_t oj = oi + 1, nj = ni + 1;
    int64_t np = to[ni], op = dims[oi];
    while (np != op) {
      if (np < op) {
        if (nj == to.size()) return std::nullopt;
        np *= to[nj++];
      } else {
        if (oj == dims.size()) return std::nullopt;
        op *= dims[oj++];
      }
    }
    for (size_t k = oi; k + 1 < oj; ++k) {
      if (st[k] != dims[k + 1] * st[k + 1]) return std::nullopt;
    }
    int64_t stride = st[oj - 1];
    for (size_t k = nj; k-- > ni;) {
      out[k] = stride;
      stride *= to[k];
    }
    ni = nj;
    oi = oj;
  }
  // Size-1 dims take the stride of the extent inside them; oneDNN only needs them consistent.
  int64_t inner = 1;
  for (size_t k = to.size(); k-- > 0;) {
    if (to[k] == 1) out[k] = inner;
    inner = std::max(inner, out[k] * to[k]);
  }
  return out;
}

}  // namespace

std::optional<Layout> reshaped_layout(const Layout& layout, DType dtype, const Shape& from, const Shape& to) {
  if (layout.is_plain()) return Layout::plain();
  if (num_elements(from) != num_elements(to) || num_elements(to) == 0 || to.empty()) return std::nullopt;
  const std::optional<std::vector<int64_t>> strides = element_strides(layout, from);
  if (!strides) return std::nullopt;
  const std::optional<std::vector<int64_t>> out = reshape_strides(from, *strides, to);
  if (!out) return std::nullopt;
  return layout_of(dnnl::memory::desc(onednn_dims(to), onednn_dtype(dtype), dnnl::memory::dims(out->begin(), out->end())),
                   dtype, to);
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
