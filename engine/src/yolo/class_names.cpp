#include "sparrow/yolo/class_names.h"

namespace sparrow::yolo {

const std::vector<std::string>& coco_class_names() {
  static const std::vector<std::string> names = {
      "person",        "bicycle",      "car",           "motorcycle",    "airplane",     "bus",
      "train",         "truck",        "boat",          "traffic light", "fire hydrant", "stop sign",
      "parking meter", "bench",        "bird",          "cat",           "dog",          "horse",
      "sheep",         "cow",          "elephant",      "bear",          "zebra",        "giraffe",
      "backpack",      "umbrella",     "handbag",       "tie",           "suitcase",     "frisbee",
      "skis",          "snowboard",    "sports ball",   "kite",          "baseball bat", "baseball glove",
      "skateboard",    "surfboard",    "tennis racket", "bottle",        "wine glass",   "cup",
      "fork",          "knife",        "spoon",         "bowl",          "banana",       "apple",
      "sandwich",      "orange",       "broccoli",      "carrot",        "hot dog",      "pizza",
      "donut",         "cake",         "chair",         "couch",         "potted plant", "bed",
      "dining table",  "toilet",       "tv",            "laptop",        "mouse",        "remote",
      "keyboard",      "cell phone",   "microwave",     "oven",          "toaster",      "sink",
      "refrigerator",  "book",         "clock",         "vase",          "scissors",     "teddy bear",
      "hair drier",    "toothbrush"};
  return names;
}

std::vector<std::string> parse_class_names(const std::string& literal) {
  // Every quoted string literal, in order: the values of a list, or of a dict with int keys.
  std::vector<std::string> names;
  for (size_t i = 0; i < literal.size(); ++i) {
    const char quote = literal[i];
    if (quote != '\'' && quote != '"') continue;
    std::string name;
    size_t j = i + 1;
    for (; j < literal.size() && literal[j] != quote; ++j) {
      if (literal[j] == '\\' && j + 1 < literal.size()) ++j;
      name += literal[j];
    }
    if (j >= literal.size()) return {};  // unterminated: not a literal we understand
    names.push_back(name);
    i = j;
  }
  return names;
}

std::vector<std::string> class_names_for(const std::map<std::string, std::string>& metadata, int num_classes) {
  if (auto it = metadata.find("names"); it != metadata.end()) {
    std::vector<std::string> names = parse_class_names(it->second);
    if (static_cast<int>(names.size()) == num_classes) return names;
  }
  if (num_classes == static_cast<int>(coco_class_names().size())) return coco_class_names();
  std::vector<std::string> generic;
  for (int i = 0; i < num_classes; ++i) generic.push_back("class" + std::to_string(i));
  return generic;
}

}  // namespace sparrow::yolo
