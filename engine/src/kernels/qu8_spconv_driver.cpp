// qu8-spconv's driver: packs a band's panel, runs the microkernel tile by tile and hands each
// tile's valid positions (those of columns < OW) to the epilogue. The variants table.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/prefetch.h"
#include "kernels/qu8_spconv.h"
#include "kernels/qu8_spconv_jit.h"

namespace sparrow::kernels {
namespace {

// Pads: x_zero in every channel block of positions [first, last) of one plane row.
void fill_zero_point(const Qu8SpconvGeometry& g, uint8_t* row, int64_t first, int64_t last, uint8_t x_zero) {
  if (first >= last) return;
  for (int64_t c = 0; c < g.cb; ++c) std::memset(row + (c * g.plane + first) * 4, x_zero, static_cast<size_t>(last - first) * 4);
}

// First plane column whose input column (j * s + phase - pad) is >= bound.
int64_t first_column_at(int64_t bound, int64_t s, int64_t phase, int64_t pad) {
  const int64_t need = bound + pad - phase;  // j * s >= need
  return need <= 0 ? 0 : (need + s - 1) / s;
}

// `count` pixels from `pixel` into a planar output. The table and the add run once per band
// (qu8_spconv_finish_band): here they would run per channel block on a tile's 64 bytes.
void finish_planar(const Qu8SpconvVariant& v, const Qu8SpconvGeometry& g, const Qu8SpconvWeights& w, int64_t pixel,
                   int64_t count, const int32_t* acc, uint8_t* y) {
  v.epilogue_planar(w, acc, static_cast<size_t>(v.tile), static_cast<size_t>(count), y + pixel * 4,
                    static_cast<size_t>(g.oh * g.ow * 4));
}

}  // namespace

const std::vector<Qu8SpconvVariant>& qu8_spconv_variants() {
  static const std::vector<Qu8SpconvVariant> variants = {
      // Code generated per layer (kernels/qu8_spconv_jit.h): 16 positions x 31 rows of registers.
      {"sparse-conv-u8s8-4x1-jit-avx512vnni", Isa::kAvx512Vnni, kQu8SpconvJitTile, 1, 0, qu8_spconv_pack_avx512,
       qu8_spconv_ukernel_jit_avx512vnni, qu8_spconv_epilogue_avx512, qu8_spconv_jit_pack_avx512vnni,
       qu8_spconv_epilogue_planar_avx512},
      // 64x2 runs ~13 % more VNNI per ns than 32x4 on an L1-resident panel (Zen 5), but wastes more
      // of a band's last tile: it declines bands of fewer than 8 tiles.
      {"sparse-conv-u8s8-4x1-64x2-avx512vnni", Isa::kAvx512Vnni, 64, 2, 512, qu8_spconv_pack_avx512,
       qu8_spconv_ukernel_64x2_avx512vnni, qu8_spconv_epilogue_avx512, nullptr, qu8_spconv_epilogue_planar_avx512},
      {"sparse-conv-u8s8-4x1-32x4-avx512vnni", Isa::kAvx512Vnni, 32, 4, 0, qu8_spconv_pack_avx512,
       qu8_spconv_ukernel_32x4_avx512vnni, qu8_spconv_epilogue_avx512, nullptr, qu8_spconv_epilogue_planar_avx512},
      {"sparse-conv-u8s8-4x1-16x4-avxvnni", Isa::kAvxVnni, 16, 4, 0, qu8_spconv_pack_avx2, qu8_spconv_ukernel_16x4_avxvnni,
       qu8_spconv_epilogue_avx2},
      {"sparse-conv-u8s8-4x1-16x2-avx2", Isa::kAvx2, 16, 2, 0, qu8_spconv_pack_avx2, qu8_spconv_ukernel_16x2_avx2,
       qu8_spconv_epilogue_avx2},
      {"sparse-conv-u8s8-4x1-8x1-scalar", Isa::kScalar, 8, 1, 0, qu8_spconv_pack_scalar, qu8_spconv_ukernel_8x1_scalar,
       qu8_spconv_epilogue_scalar, nullptr, qu8_spconv_epilogue_planar_scalar},
  };
  return variants;
}

void qu8_spconv_pack_band(const Qu8SpconvVariant& v, const Qu8SpconvGeometry& g, const uint8_t* x, uint8_t x_zero,
                          uint8_t* panel, int64_t b) {
  if (g.planar_in) return;
  for (int64_t phase = 0; phase < g.phases(); ++phase) {
    const int64_t py = phase / g.sw, px = phase % g.sw;
    const int64_t lo = std::min(g.wq, first_column_at(0, g.sw, px, g.pad_left));
    const int64_t hi = std::max(lo, std::min(g.wq, first_column_at(g.iw, g.sw, px, g.pad_left)));
    for (int64_t i = 0; i < g.hb; ++i) {
      uint8_t* row = panel + (phase * g.cb * g.plane + i * g.wq) * 4;
      const int64_t iy = (b * g.band + i) * g.sh + py - g.pad_top;
      if (iy < 0 || iy >= g.ih) {
        fill_zero_point(g, row, 0, g.wq, x_zero);
        continue;
      }
      fill_zero_point(g, row, 0, lo, x_zero);
      fill_zero_point(g, row, hi, g.wq, x_zero);
      if (hi > lo) {
        const uint8_t* src = x + (iy * g.iw + lo * g.sw + px - g.pad_left) * g.ic;
        v.pack(static_cast<size_t>(hi - lo), src, static_cast<size_t>(g.sw * g.ic), static_cast<size_t>(g.ic), row + lo * 4,
               static_cast<size_t>(g.plane * 4), x_zero);
      }
    }
  }
}

const uint8_t* qu8_spconv_panel(const Qu8SpconvGeometry& g, const uint8_t* image, const uint8_t* packed, int64_t b) {
  return g.planar_in ? image + b * g.band * g.ow * 4 : packed;
}

int64_t qu8_spconv_tiles(const Qu8SpconvVariant& v, const Qu8SpconvGeometry& g, int64_t b) {
  return (g.band_rows(b) * g.wq + v.tile - 1) / v.tile;
}

size_t qu8_spconv_acc_elements(const Qu8SpconvVariant& v, const Qu8SpconvWeights& w) {
  return static_cast<size_t>(w.accumulator_rows() * v.tile + 16);  // the epilogue may read 16 past a row's start
}

void qu8_spconv_accumulate(const Qu8SpconvVariant& v, const Qu8SpconvWeights& w, const uint8_t* panel, int64_t tile,
                           size_t first, size_t last, int32_t* acc) {
  v.ukernel(w, first, last, panel + tile * v.tile * 4, acc);
}

void qu8_spconv_finish(const Qu8SpconvVariant& v, const Qu8SpconvGeometry& g, const Qu8SpconvWeights& w, int64_t b,
                       int64_t tile, const int32_t* acc, const uint8_t* residual, uint8_t* y) {
  const int64_t q0 = tile * v.tile, q1 = std::min(q0 + v.tile, g.band_rows(b) * g.wq);
  const int64_t stride = g.out_stride();
  // Without garbage columns (1x1 convs) consecutive positions are consecutive pixels across rows
  // too: one call for the tile, where a row boundary inside it (every other tile of a 40-wide
  // output) would take two half-empty ones.
  const bool rows_adjoin = g.wq == g.ow;
  for (int64_t q = q0; q < q1;) {
    const int64_t oh = q / g.wq, ow = q % g.wq;
    const int64_t row_end = rows_adjoin ? q1 : std::min(q1, (oh + 1) * g.wq);
    const int64_t count = (rows_adjoin ? row_end : std::min(row_end, oh * g.wq + g.ow)) - q;
    const int64_t pixel = (b * g.band + oh) * g.ow + ow;
    if (ow < g.ow && g.planar_out) {
      finish_planar(v, g, w, pixel, count, acc + (q - q0), y);
    } else if (ow < g.ow) {
      uint8_t* out = y + pixel * stride;
      v.epilogue(w, acc + (q - q0), static_cast<size_t>(v.tile), static_cast<size_t>(count), out, static_cast<size_t>(stride));
      // The steps after the epilogue on each run of contiguous output bytes: the whole run of
      // pixels, or pixel by pixel in a wider tensor's slice.
      const int64_t runs = stride == g.oc ? 1 : count, run = stride == g.oc ? count * g.oc : g.oc;
      for (int64_t r = 0; r < runs; ++r) {
        uint8_t* o = out + r * stride;
        if (w.lookup) w.lookup(static_cast<size_t>(run), o, o, w.table.data());
        if (w.add) w.add->apply(w.vadd, static_cast<size_t>(run), residual + (pixel + r) * g.oc, o);
      }
    }
    q = row_end;
  }
}

void qu8_spconv_finish_band(const Qu8SpconvGeometry& g, const Qu8SpconvWeights& w, int64_t b, const uint8_t* residual,
                            uint8_t* y) {
  if (!g.planar_out || (!w.lookup && !w.add)) return;
  const int64_t plane = g.oh * g.ow * 4, first = b * g.band * g.ow * 4, bytes = g.band_rows(b) * g.ow * 4;
  for (int64_t c = 0; c < (g.oc + 3) / 4; ++c) {
    uint8_t* o = y + c * plane + first;
    if (w.lookup) w.lookup(static_cast<size_t>(bytes), o, o, w.table.data());
    if (w.add) w.add->apply(w.vadd, static_cast<size_t>(bytes), residual + c * plane + first, o);
  }
}

void qu8_spconv_tile(const Qu8SpconvVariant& v, const Qu8SpconvGeometry& g, const Qu8SpconvWeights& w,
                     const uint8_t* panel, int64_t b, int64_t tile, int32_t* acc, const uint8_t* residual, uint8_t* y) {
  qu8_spconv_accumulate(v, w, panel, tile, 0, w.segment_steps.size(), acc);
  qu8_spconv_finish(v, g, w, b, tile, acc, residual, y);
}

void qu8_spconv_prefetch(const Qu8SpconvWeights& w, size_t first, size_t last, size_t part, size_t parts) {
  if (first >= last) return;
  if (w.jit) {
    w.jit->prefetch(first, last, part, parts);
    return;
  }
  const size_t end = last < w.segment_start.size() ? w.segment_start[last] : w.entries.size();
  prefetch_l2_part(w.entries.data() + w.segment_start[first], w.entries.data() + end, part, parts);
}

void qu8_spconv_load_code(const Qu8SpconvWeights& w) {
  if (w.jit) w.jit->load(0, w.segment_steps.size());
}

std::vector<size_t> qu8_spconv_segment_blocks(const Qu8SpconvWeights& w, size_t bytes) {
  std::vector<size_t> bounds = {0};
  size_t block = 0;
  for (size_t s = 0; s < w.segment_steps.size(); ++s) {
    const size_t b = size_t{w.segment_steps[s]} * static_cast<size_t>(w.rows_per_group) * sizeof(Qu8SpconvEntry);
    if (block > 0 && block + b > bytes) {
      bounds.push_back(s);
      block = 0;
    }
    block += b;
  }
  bounds.push_back(w.segment_steps.size());
  return bounds;
}

void qu8_spconv_run(const Qu8SpconvVariant& v, const Qu8SpconvGeometry& g, const Qu8SpconvWeights& w, int64_t n,
                    const uint8_t* x, uint8_t x_zero, uint8_t* y, size_t block_bytes, const uint8_t* residual) {
  const size_t per_tile = qu8_spconv_acc_elements(v, w);
  const std::vector<size_t> blocks = qu8_spconv_segment_blocks(w, block_bytes);
  std::vector<uint8_t> panel(g.panel_bytes());
  std::vector<int32_t> acc(static_cast<size_t>(qu8_spconv_tiles(v, g, 0)) * per_tile);
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* image = x + i * g.ih * g.iw * g.ic;
    uint8_t* out = y + i * g.oh * g.ow * g.out_stride();
    const uint8_t* image_residual = residual ? residual + i * g.oh * g.ow * g.oc : nullptr;
    for (int64_t b = 0; b < g.bands(); ++b) {
      qu8_spconv_pack_band(v, g, image, x_zero, panel.data(), b);
      const uint8_t* band_panel = qu8_spconv_panel(g, image, panel.data(), b);
      const int64_t tiles = qu8_spconv_tiles(v, g, b);
      for (size_t k = 0; k + 1 < blocks.size(); ++k) {
        for (int64_t t = 0; t < tiles; ++t) {
          qu8_spconv_accumulate(v, w, band_panel, t, blocks[k], blocks[k + 1], acc.data() + static_cast<size_t>(t) * per_tile);
        }
      }
      for (int64_t t = 0; t < tiles; ++t) qu8_spconv_finish(v, g, w, b, t, acc.data() + static_cast<size_t>(t) * per_tile, image_residual, out);
      qu8_spconv_finish_band(g, w, b, image_residual, out);
    }
  }
}

}  // namespace sparrow::kernels
