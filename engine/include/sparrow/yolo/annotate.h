// Draws detections onto an image: a box and a "name score" label per detection.
#pragma once

#include <string>
#include <vector>

#include "sparrow/yolo/detection.h"

namespace cv {
class Mat;
}

namespace sparrow::yolo {

// `bgr` is an 8-bit 3-channel image in the detections' pixel coordinates; drawn in place.
void draw_detections(cv::Mat& bgr, const std::vector<Detection>& detections, const std::vector<std::string>& class_names);

}  // namespace sparrow::yolo
