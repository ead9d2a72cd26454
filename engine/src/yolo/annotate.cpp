#include "sparrow/yolo/annotate.h"

#include <algorithm>
#include <cstdio>

#include <opencv2/imgproc.hpp>

namespace sparrow::yolo {
namespace {

// A fixed palette so a class keeps its colour across images (BGR).
cv::Scalar class_colour(int class_id) {
  static const cv::Scalar palette[] = {
      {56, 56, 255},  {151, 157, 255}, {31, 112, 255}, {29, 178, 255}, {49, 210, 207}, {10, 249, 72},  {23, 204, 146},
      {134, 219, 61}, {52, 147, 26},   {187, 212, 0},  {168, 153, 44}, {255, 194, 0},  {147, 69, 52},  {255, 115, 100},
      {236, 24, 0},   {255, 56, 132},  {133, 0, 82},   {255, 56, 203}, {200, 149, 255}, {199, 55, 255}};
  return palette[static_cast<size_t>(class_id) % (sizeof(palette) / sizeof(palette[0]))];
}

}  // namespace

void draw_detections(cv::Mat& bgr, const std::vector<Detection>& detections, const std::vector<std::string>& names) {
  // Line width and font scale grow with the image, as in ultralytics' Annotator.
  const int thickness = std::max(static_cast<int>((bgr.rows + bgr.cols) / 2 * 0.003), 2);
  const double font_scale = thickness / 3.0;
  const int font_thickness = std::max(thickness - 1, 1);
  for (const Detection& d : detections) {
    const cv::Scalar colour = class_colour(d.class_id);
    const cv::Point p1(static_cast<int>(d.x1), static_cast<int>(d.y1)), p2(static_cast<int>(d.x2), static_cast<int>(d.y2));
    cv::rectangle(bgr, p1, p2, colour, thickness, cv::LINE_AA);
    char label[128];
    const std::string name = d.class_id >= 0 && d.class_id < static_cast<int>(names.size()) ? names[d.class_id]
                                                                                          : std::to_string(d.class_id);
    std::snprintf(label, sizeof(label), "%s %.2f", name.c_str(), d.score);
    int baseline = 0;
    const cv::Size text = cv::getTextSize(label, cv::FONT_HERSHEY_SIMPLEX, font_scale, font_thickness, &baseline);
    // Label above the box, or inside it when the box touches the top edge.
    const bool above = p1.y - text.height - 3 >= 0;
    const cv::Point corner(p1.x, above ? p1.y - text.height - 3 : p1.y + text.height + 3);
    cv::rectangle(bgr, p1, {p1.x + text.width, corner.y}, colour, cv::FILLED, cv::LINE_AA);
    cv::putText(bgr, label, {p1.x, above ? p1.y - 2 : p1.y + text.height + 2}, cv::FONT_HERSHEY_SIMPLEX, font_scale,
                cv::Scalar(255, 255, 255), font_thickness, cv::LINE_AA);
  }
}

}  // namespace sparrow::yolo
