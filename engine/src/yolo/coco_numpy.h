// The few numpy computations COCOeval's numbers depend on, reproduced operation for operation:
// pycocotools compares IoUs against linspace thresholds with `>=` and averages with np.mean, so
// the last bit of each decides ties and rounding of the printed summary.
#pragma once

#include <vector>

namespace sparrow::yolo {

// np.linspace(start, stop, num) with endpoint=True.
std::vector<double> numpy_linspace(double start, double stop, int num);

// np.mean of a 1-D float64 array (numpy 1.24, default buffer size): its summation order, divided
// by the count.
double numpy_mean(const std::vector<double>& values);

}  // namespace sparrow::yolo
