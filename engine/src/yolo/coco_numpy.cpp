#include "yolo/coco_numpy.h"

#include <algorithm>
#include <cstddef>

namespace sparrow::yolo {
namespace {

// numpy's pairwise_sum for float64: short runs add left to right, runs up to 128 use eight
// interleaved accumulators, longer runs split in two at a multiple of eight.
double pairwise_sum(const double* a, std::size_t n) {
  if (n < 8) {
    double sum = 0.;
    for (std::size_t i = 0; i < n; ++i) sum += a[i];
    return sum;
  }
  if (n <= 128) {
    double r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    std::size_t i = 8;
    for (; i < n - n % 8; i += 8) {
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    }
    double sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) sum += a[i];
    return sum;
  }
  std::size_t half = n / 2;
  half -= half % 8;
  return pairwise_sum(a, half) + pairwise_sum(a + half, n - half);
}

}  // namespace

std::vector<double> numpy_linspace(double start, double stop, int num) {
  std::vector<double> values(static_cast<std::size_t>(num));
  if (num == 1) {
    values[0] = start;
    return values;
  }
  // numpy multiplies the index by the step, adds start, then overwrites the last value with stop.
  const double step = (stop - start) / (num - 1);
  for (int i = 0; i < num; ++i) values[static_cast<std::size_t>(i)] = i * step + start;
  values.back() = stop;
  return values;
}

double numpy_mean(const std::vector<double>& values) {
  // The reduction runs through numpy's iterator buffer: pairwise within each 8192-element chunk,
  // chunk sums added left to right.
  constexpr std::size_t kBufferSize = 8192;
  double sum = 0;
  for (std::size_t i = 0; i < values.size(); i += kBufferSize) {
    sum += pairwise_sum(values.data() + i, std::min(kBufferSize, values.size() - i));
  }
  return sum / static_cast<double>(values.size());
}

}  // namespace sparrow::yolo
