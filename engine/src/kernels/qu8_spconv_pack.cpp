// qu8-spconv compile-time packing: the panel geometry, and the weights' non-zero 1x4 blocks as
// grouped block-CSR with the epilogue's per-channel constants.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <numeric>

#include "kernels/qu8_spconv.h"
#include "sparrow/error.h"

namespace sparrow::kernels {
namespace {

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// Weight (oc, channel, tap) of OIHW weights, 0 past the last channel.
int8_t weight_at(const Qu8SpconvGeometry& g, const int8_t* w, int64_t o, int64_t c, int64_t y, int64_t x) {
  if (c >= g.ic) return 0;
  return w[((o * g.ic + c) * g.kh + y) * g.kw + x];
}

int32_t block_word(const Qu8SpconvGeometry& g, const int8_t* w, int64_t o, int64_t c, int64_t y, int64_t x) {
  uint32_t word = 0;
  for (int64_t j = 0; j < 4; ++j) word |= static_cast<uint32_t>(static_cast<uint8_t>(weight_at(g, w, o, 4 * c + j, y, x))) << (8 * j);
  return static_cast<int32_t>(word);
}

// Channel blocks per chunk: a tile reads, per channel block and stride phase, ceil(kh / sh)
// plane rows of the tile plus ceil(kw / sw) - 1 positions.
int64_t chunk_blocks(const Qu8SpconvGeometry& g, int tile, int64_t window) {
  const int64_t per_block = g.phases() * ceil_div(g.kh, g.sh) * (tile + ceil_div(g.kw, g.sw)) * 4;
  return std::clamp<int64_t>(window / per_block, 1, g.cb);
}

// One output channel's non-zero blocks per chunk of `chunk` channel blocks, each in ascending
// panel offset (the order of memory).
std::vector<std::vector<Qu8SpconvEntry>> row_blocks(const Qu8SpconvGeometry& g, const int8_t* w, int64_t o, int64_t chunk) {
  std::vector<std::vector<Qu8SpconvEntry>> row(static_cast<size_t>(ceil_div(g.cb, chunk)));
  for (int64_t y = 0; y < g.kh; ++y) {
    for (int64_t x = 0; x < g.kw; ++x) {
      for (int64_t c = 0; c < g.cb; ++c) {
        const int32_t word = block_word(g, w, o, c, y, x);
        if (word != 0) row[static_cast<size_t>(c / chunk)].push_back({static_cast<int32_t>(g.offset(y, x, c)), word});
      }
    }
  }
  for (std::vector<Qu8SpconvEntry>& part : row) {
    std::sort(part.begin(), part.end(), [](const Qu8SpconvEntry& a, const Qu8SpconvEntry& b) { return a.offset < b.offset; });
  }
  return row;
}

size_t total_blocks(const std::vector<std::vector<Qu8SpconvEntry>>& row) {
  size_t n = 0;
  for (const std::vector<Qu8SpconvEntry>& part : row) n += part.size();
  return n;
}

int64_t weights_per_channel(const Qu8SpconvGeometry& g) { return g.ic * g.kh * g.kw; }

float output_scale(const Qu8SpconvQuant& q, int64_t o) {
  const float w_scale = q.w_scale.size() > 1 ? q.w_scale[static_cast<size_t>(o)] : q.w_scale[0];
  return q.x_scale * w_scale / q.y_scale;  // as the dense row computes it
}

}  // namespace

Qu8SpconvGeometry qu8_spconv_geometry(Qu8SpconvGeometry g) {
  if (g.oh < 1 || g.ow < 1 || g.ic < 1 || g.oc < 1 || g.kh < 1 || g.kw < 1 || g.sh < 1 || g.sw < 1) {
    throw Error(ErrorCode::kInvalidArgument, "sparse INT8 convolution: empty geometry");
  }
  if (g.band < 1 || g.band > g.oh) g.band = g.oh;
  g.cb = ceil_div(g.ic, 4);
  g.hb = g.band + (g.kh - 1) / g.sh;
  g.wq = ceil_div(g.iw + g.pad_left + g.pad_right, g.sw);
  // Every position a tile computes, plus its farthest tap, stays inside its plane.
  g.plane = ceil_div(g.hb * g.wq + kQu8SpconvMaxTile + g.kw, 16) * 16;
  if (g.planar_in) g.plane = g.ih * g.iw;
  return g;
}

bool qu8_spconv_reads_in_place(const Qu8SpconvGeometry& g, int tile) {
  const int64_t hw = g.ih * g.iw, band = g.band < 1 || g.band > g.oh ? g.oh : g.band;
  return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pad_top == 0 && g.pad_left == 0 && g.pad_bottom == 0 &&
         g.pad_right == 0 && g.ic % 4 == 0 && hw % tile == 0 && (band == g.oh || (band * g.ow) % tile == 0) &&
         (hw * 4) % 4096 != 0;
}

int64_t qu8_spconv_count_blocks(const Qu8SpconvGeometry& g, const int8_t* w) {
  int64_t blocks = 0;
  for (int64_t o = 0; o < g.oc; ++o) {
    for (int64_t y = 0; y < g.kh; ++y) {
      for (int64_t x = 0; x < g.kw; ++x) {
        for (int64_t c = 0; c < g.cb; ++c) blocks += block_word(g, w, o, c, y, x) != 0;
      }
    }
  }
  return blocks;
}

Qu8SpconvWeights qu8_spconv_pack_weights(const Qu8SpconvGeometry& g, const int8_t* w, const Qu8SpconvQuant& q,
                                         int tile, int rows_per_group, int64_t window) {
  Qu8SpconvWeights p;
  p.oc = g.oc;
  p.rows_per_group = rows_per_group;
  p.y_zero = static_cast<float>(q.y_zero);
  p.table = q.table;
  if (!p.table.empty()) p.lookup = x8_lut_best_variant().ukernel;
  p.add = q.add;
  if (p.add) p.vadd = qu8_vadd_best_variant().ukernel;
  const int64_t chunk = chunk_blocks(g, tile, window);
  p.chunks = ceil_div(g.cb, chunk);
  p.groups = ceil_div(g.oc, rows_per_group);
  std::vector<std::vector<std::vector<Qu8SpconvEntry>>> rows(static_cast<size_t>(g.oc));
  for (int64_t o = 0; o < g.oc; ++o) {
    rows[static_cast<size_t>(o)] = row_blocks(g, w, o, chunk);
    p.blocks += static_cast<int64_t>(total_blocks(rows[static_cast<size_t>(o)]));
    int64_t sum = 0;
    for (int64_t i = 0; i < weights_per_channel(g); ++i) sum += w[o * weights_per_channel(g) + i];
    p.comp.push_back(static_cast<int32_t>(-q.x_zero * sum));
    p.bias.push_back(q.bias.empty() ? 0.0f : static_cast<float>(q.bias[static_cast<size_t>(o)]));
    p.scale.push_back(output_scale(q, o));
  }
  // Longest rows first: a group's rows then have similar lengths and little padding.
  std::vector<int32_t> order(static_cast<size_t>(g.oc));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return total_blocks(rows[a]) > total_blocks(rows[b]); });
  for (int64_t i = 0; i < p.groups * rows_per_group; ++i) {
    p.rows.push_back(i < g.oc ? order[static_cast<size_t>(i)] : static_cast<int32_t>(g.oc + i % rows_per_group));
  }
  // The row `r` of group `grp` in chunk `k`: its blocks, none for a padding row.
  auto part = [&](int64_t k, int64_t grp, int r) -> const std::vector<Qu8SpconvEntry>* {
    const int64_t i = grp * rows_per_group + r;
    return i < g.oc ? &rows[static_cast<size_t>(order[static_cast<size_t>(i)])][static_cast<size_t>(k)] : nullptr;
  };
  for (int64_t k = 0; k < p.chunks; ++k) {
    for (int64_t grp = 0; grp < p.groups; ++grp) {
      size_t steps = 0;
      for (int r = 0; r < rows_per_group; ++r) steps = std::max(steps, part(k, grp, r) ? part(k, grp, r)->size() : 0);
      p.segment_steps.push_back(static_cast<uint32_t>(steps));
      p.segment_start.push_back(static_cast<uint32_t>(p.entries.size()));
      for (size_t s = 0; s < steps; ++s) {
        for (int r = 0; r < rows_per_group; ++r) {
          const std::vector<Qu8SpconvEntry>* blocks = part(k, grp, r);
          p.entries.push_back(blocks && s < blocks->size() ? (*blocks)[s] : Qu8SpconvEntry{0, 0});
        }
      }
    }
  }
  return p;
}

Qu8SpconvWeights qu8_spconv_pack(const Qu8SpconvVariant& v, const Qu8SpconvGeometry& g, const int8_t* w,
                                 const Qu8SpconvQuant& q, int64_t window) {
  if (!v.jit) return qu8_spconv_pack_weights(g, w, q, v.tile, v.rows_per_group, window);
  // The generated code groups rows itself, and keeps every channel block of a group in one pass.
  Qu8SpconvWeights p = qu8_spconv_pack_weights(g, w, q, v.tile, 1, INT64_MAX);
  v.jit(p, v.tile, window);
  return p;
}

std::string qu8_spconv_exactness_problem(const Qu8SpconvGeometry& g, const int8_t* w, const Qu8SpconvQuant& q) {
  constexpr int64_t kExact = int64_t{1} << 24;
  for (int64_t o = 0; o < g.oc; ++o) {
    int64_t sum = 0, magnitude = 0;
    for (int64_t i = 0; i < weights_per_channel(g); ++i) {
      sum += w[o * weights_per_channel(g) + i];
      magnitude += std::abs(static_cast<int64_t>(w[o * weights_per_channel(g) + i]));
    }
    const int64_t bias = q.bias.empty() ? 0 : std::abs(static_cast<int64_t>(q.bias[static_cast<size_t>(o)]));
    if (255 * magnitude + bias + std::abs(q.x_zero * sum) >= kExact) {
      return "output channel " + std::to_string(o) + " may sum beyond 2^24, where float rounding could differ from oneDNN's";
    }
  }
  return {};
}

}  // namespace sparrow::kernels
