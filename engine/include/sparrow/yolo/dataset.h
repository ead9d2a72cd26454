// YOLO-layout datasets (images/ + labels/ + data.yaml, as ultralytics lays them out).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sparrow::yolo {

// One label: class index and a box normalised to the image (centre x, centre y, width, height).
struct LabelBox {
  int class_id = 0;
  double cx = 0, cy = 0, w = 0, h = 0;
};

struct DatasetImage {
  std::string path;
  std::string file_name;  // path relative to the image folder, as COCO json "file_name" holds it
  int64_t id = 0;         // the numeric file stem (COCO style), else the index
  std::vector<LabelBox> labels;
};

struct Dataset {
  std::string root;
  std::vector<std::string> names;      // class names by index
  std::vector<int64_t> category_ids;   // COCO category_id per class index (empty when not given)
  std::vector<DatasetImage> images;    // sorted by path; images without a label file have no labels
  std::string coco_annotations;        // annotations/instances_*.json beside the images, if present
  int label_files_without_image = 0;   // ignored, as ultralytics does
  int images_without_labels = 0;       // kept as background images
};

// `path` is a dataset folder holding data.yaml, or the data.yaml itself. Malformed label lines
// throw kInvalidArgument naming the file and line.
Dataset load_dataset(const std::string& path);

// Parses one label file's text; `what` names the file in errors.
std::vector<LabelBox> parse_labels(const std::string& text, int num_classes, const std::string& what);

}  // namespace sparrow::yolo
