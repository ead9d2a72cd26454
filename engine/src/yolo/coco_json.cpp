// Reading COCO ground-truth and result json, and writing results, with errors that name the file,
// the array entry and the field.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>
#include <nlohmann/json.hpp>

#include "sparrow/error.h"
#include "sparrow/output_file.h"
#include "sparrow/yolo/coco_eval.h"

namespace sparrow::yolo {
namespace {

using nlohmann::json;

json read_json(const std::string& path) {
  if (!std::filesystem::exists(path)) throw Error(ErrorCode::kNotFound, path + ": file does not exist");
  std::ifstream in(path, std::ios::binary);
  if (!in || std::filesystem::is_directory(path)) throw Error(ErrorCode::kIo, path + ": cannot open for reading");
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    throw Error(ErrorCode::kInvalidArgument, path + ": malformed json: " + e.what());
  }
}

// One json object inside a file, and where it sits ("annotations[3]"), for error messages.
class Entry {
 public:
  Entry(const json& object, std::string path, std::string where)
      : object_(object), path_(std::move(path)), where_(std::move(where)) {
    if (!object_.is_object()) fail("expected a json object");
  }

  bool has(const char* name) const { return object_.contains(name); }

  const json& field(const char* name) const {
    const auto it = object_.find(name);
    if (it == object_.end()) fail(std::string("missing \"") + name + "\"");
    return *it;
  }

  double number(const char* name) const {
    const json& v = field(name);
    if (!v.is_number()) fail(std::string("\"") + name + "\" must be a number");
    return v.get<double>();
  }

  // Python reads 1.0 as a float that still works as an id, so integral floats are accepted.
  int64_t integer(const char* name) const {
    const json& v = field(name);
    if (v.is_number_integer() && !(v.is_number_unsigned() && v.get<uint64_t>() > INT64_MAX)) return v.get<int64_t>();
    if (v.is_number_float() && std::trunc(v.get<double>()) == v.get<double>() && std::abs(v.get<double>()) < 9e18) {
      return static_cast<int64_t>(v.get<double>());
    }
    fail(std::string("\"") + name + "\" must be an integer");
  }

  // pycocotools tests iscrowd for truth: 0/1 or false/true.
  bool flag(const char* name) const {
    const json& v = field(name);
    if (v.is_boolean()) return v.get<bool>();
    if (v.is_number()) return v.get<double>() != 0;
    fail(std::string("\"") + name + "\" must be 0, 1, true or false");
  }

  std::string text(const char* name) const {
    const json& v = field(name);
    if (!v.is_string()) fail(std::string("\"") + name + "\" must be a string");
    return v.get<std::string>();
  }

  std::array<double, 4> box(const char* name) const {
    const json& v = field(name);
    if (!v.is_array() || v.size() != 4 || !std::all_of(v.begin(), v.end(), [](const json& x) { return x.is_number(); })) {
      fail(std::string("\"") + name + "\" must be [x, y, width, height]");
    }
    return {v[0].get<double>(), v[1].get<double>(), v[2].get<double>(), v[3].get<double>()};
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorCode::kInvalidArgument, path_ + ": " + where_ + ": " + what);
  }

 private:
  const json& object_;
  std::string path_, where_;
};

const json& array_field(const json& root, const char* name, const std::string& path) {
  const auto it = root.find(name);
  if (it == root.end() || !it->is_array()) {
    throw Error(ErrorCode::kInvalidArgument, path + ": expected a \"" + name + "\" array at the top level");
  }
  return *it;
}

// Calls parse(Entry) for every element of `array`, labelled name[i].
template <typename T, typename F>
std::vector<T> parse_array(const json& array, const std::string& path, const std::string& name, F parse) {
  std::vector<T> items;
  items.reserve(array.size());
  for (std::size_t i = 0; i < array.size(); ++i) items.push_back(parse(Entry(array[i], path, name + "[" + std::to_string(i) + "]")));
  return items;
}

CocoImage parse_image(const Entry& e) {
  CocoImage im;
  im.id = e.integer("id");
  // Evaluation needs only the id; size and file name are there for tools that load the images.
  if (e.has("width")) im.width = static_cast<int>(e.integer("width"));
  if (e.has("height")) im.height = static_cast<int>(e.integer("height"));
  if (e.has("file_name")) im.file_name = e.text("file_name");
  return im;
}

CocoAnnotation parse_annotation(const Entry& e) {
  CocoAnnotation a;
  a.id = e.integer("id");
  a.image_id = e.integer("image_id");
  a.category_id = e.integer("category_id");
  a.bbox = e.box("bbox");
  a.area = e.number("area");
  // Datasets converted from other formats often leave iscrowd out; absent means an ordinary object.
  a.iscrowd = e.has("iscrowd") && e.flag("iscrowd");
  return a;
}

CocoCategory parse_category(const Entry& e) {
  CocoCategory c;
  c.id = e.integer("id");
  if (e.has("name")) c.name = e.text("name");
  return c;
}

CocoDetection parse_detection(const Entry& e) {
  CocoDetection d;
  d.image_id = e.integer("image_id");
  d.category_id = e.integer("category_id");
  d.bbox = e.box("bbox");
  d.score = e.number("score");
  return d;
}

}  // namespace

CocoGroundTruth load_coco_ground_truth(const std::string& path) {
  const json root = read_json(path);
  if (!root.is_object()) throw Error(ErrorCode::kInvalidArgument, path + ": expected a COCO dataset json object");
  CocoGroundTruth gt;
  gt.images = parse_array<CocoImage>(array_field(root, "images", path), path, "images", parse_image);
  gt.annotations = parse_array<CocoAnnotation>(array_field(root, "annotations", path), path, "annotations", parse_annotation);
  gt.categories = parse_array<CocoCategory>(array_field(root, "categories", path), path, "categories", parse_category);
  return gt;
}

std::vector<CocoDetection> load_coco_detections(const std::string& path) {
  const json root = read_json(path);
  if (!root.is_array()) throw Error(ErrorCode::kInvalidArgument, path + ": expected a json array of detections");
  return parse_array<CocoDetection>(root, path, "detections", parse_detection);
}

void write_coco_detections(const std::string& path, const std::vector<CocoDetection>& detections) {
  json out = json::array();
  for (const CocoDetection& d : detections) {
    out.push_back({{"image_id", d.image_id}, {"category_id", d.category_id}, {"bbox", d.bbox}, {"score", d.score}});
  }
  write_text_file(path, out.dump() + '\n');
}

}  // namespace sparrow::yolo
