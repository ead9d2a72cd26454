// Class names for detections: from the model's metadata, else COCO's.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace sparrow::yolo {

// The 80 COCO class names in YOLO index order.
const std::vector<std::string>& coco_class_names();

// Names from an ultralytics export's "names" metadata: a Python list ("['person', ...]") or dict
// ("{0: 'person', ...}") literal. Returns an empty list when there is none or it cannot be read.
std::vector<std::string> parse_class_names(const std::string& literal);

// The model's names if it has `num_classes` of them, else COCO's when that fits, else "class<i>".
std::vector<std::string> class_names_for(const std::map<std::string, std::string>& metadata, int num_classes);

}  // namespace sparrow::yolo
