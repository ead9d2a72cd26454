#include "sparrow/yolo/dataset.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "sparrow/error.h"
#include "sparrow/yolo/image_files.h"

namespace sparrow::yolo {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void bad(const std::string& why) { throw Error(ErrorCode::kInvalidArgument, why); }

// ultralytics' img2label_paths: the last "/images/" becomes "/labels/", the extension ".txt".
fs::path label_path_for(const fs::path& image) {
  std::string s = image.string();
  const size_t at = s.rfind("/images/");
  if (at != std::string::npos) s.replace(at, 8, "/labels/");
  return fs::path(s).replace_extension(".txt");
}

std::vector<std::string> read_names(const YAML::Node& names) {
  std::vector<std::string> out;
  if (names.IsSequence()) {
    for (const auto& n : names) out.push_back(n.as<std::string>());
  } else if (names.IsMap()) {
    std::vector<std::pair<int, std::string>> entries;
    for (const auto& kv : names) entries.emplace_back(kv.first.as<int>(), kv.second.as<std::string>());
    std::sort(entries.begin(), entries.end());
    for (size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].first != static_cast<int>(i)) bad("data.yaml names must be numbered 0 to n-1");
      out.push_back(entries[i].second);
    }
  }
  return out;
}

int64_t image_id(const fs::path& p, size_t index) {
  const std::string stem = p.stem().string();
  const bool numeric = !stem.empty() && stem.size() < 18 && std::all_of(stem.begin(), stem.end(), ::isdigit);
  return numeric ? std::stoll(stem) : static_cast<int64_t>(index);
}

std::string read_text(const fs::path& p) {
  std::ifstream f(p);
  if (!f) bad("cannot read '" + p.string() + "'");
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

}  // namespace

std::vector<LabelBox> parse_labels(const std::string& text, int num_classes, const std::string& what) {
  std::vector<LabelBox> labels;
  std::istringstream lines(text);
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    std::istringstream fields(line);
    std::vector<double> v;
    std::string token;
    while (fields >> token) {
      try {
        size_t used = 0;
        v.push_back(std::stod(token, &used));
        if (used != token.size()) throw std::invalid_argument(token);
      } catch (const std::exception&) {
        bad(what + " line " + std::to_string(number) + ": '" + token + "' is not a number");
      }
    }
    if (v.empty()) continue;
    const std::string where = what + " line " + std::to_string(number) + ": ";
    // 5 values: a box; more (an odd count): a polygon "class x1 y1 x2 y2 ...", boxed as ultralytics does.
    if (v.size() < 5 || (v.size() > 5 && v.size() % 2 == 0)) {
      bad(where + "expected 'class cx cy w h' (or a polygon), found " + std::to_string(v.size()) + " values");
    }
    if (v[0] != static_cast<int>(v[0]) || v[0] < 0 || v[0] >= num_classes) {
      std::ostringstream cls;
      cls << v[0];
      bad(where + "class " + cls.str() + " is not an integer in [0, " + std::to_string(num_classes) + ")");
    }
    LabelBox box{static_cast<int>(v[0]), v[1], v[2], v[3], v[4]};
    if (v.size() > 5) {
      double x1 = 1, y1 = 1, x2 = 0, y2 = 0;
      for (size_t i = 1; i + 1 < v.size(); i += 2) {
        x1 = std::min(x1, v[i]), x2 = std::max(x2, v[i]), y1 = std::min(y1, v[i + 1]), y2 = std::max(y2, v[i + 1]);
      }
      box = {box.class_id, (x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1};
    }
    for (double c : {box.cx, box.cy, box.w, box.h}) {
      if (!(c >= 0 && c <= 1)) bad(where + "coordinates must be normalised to [0, 1]");
    }
    labels.push_back(box);
  }
  // Duplicate rows are dropped, as ultralytics does.
  auto key = [](const LabelBox& b) { return std::make_tuple(b.class_id, b.cx, b.cy, b.w, b.h); };
  std::sort(labels.begin(), labels.end(), [&](const LabelBox& a, const LabelBox& b) { return key(a) < key(b); });
  labels.erase(std::unique(labels.begin(), labels.end(), [&](const LabelBox& a, const LabelBox& b) { return key(a) == key(b); }),
               labels.end());
  return labels;
}

Dataset load_dataset(const std::string& path) {
  std::error_code ec;
  fs::path yaml_path = fs::is_directory(path, ec) ? fs::path(path) / "data.yaml" : fs::path(path);
  if (!fs::exists(yaml_path, ec)) throw Error(ErrorCode::kNotFound, "dataset '" + path + "' has no data.yaml");
  YAML::Node cfg;
  try {
    cfg = YAML::LoadFile(yaml_path.string());
  } catch (const YAML::Exception& e) {
    bad("'" + yaml_path.string() + "' is not valid YAML: " + e.what());
  }
  Dataset d;
  try {
    fs::path root = yaml_path.parent_path();
    if (cfg["path"]) root = root / cfg["path"].as<std::string>();
    d.root = fs::weakly_canonical(root).string();
    d.names = read_names(cfg["names"]);
    if (cfg["coco_category_ids"]) d.category_ids = cfg["coco_category_ids"].as<std::vector<int64_t>>();
    if (d.names.empty()) bad("'" + yaml_path.string() + "' lists no class names");
    if (!d.category_ids.empty() && d.category_ids.size() != d.names.size()) {
      bad("'" + yaml_path.string() + "': coco_category_ids has " + std::to_string(d.category_ids.size()) +
          " entries for " + std::to_string(d.names.size()) + " classes");
    }
    const std::string val = cfg["val"] ? cfg["val"].as<std::string>() : "images";
    fs::path images_dir = fs::path(d.root) / val;
    if (!fs::is_directory(images_dir, ec)) throw Error(ErrorCode::kNotFound, "image folder '" + images_dir.string() + "' does not exist");

    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(images_dir)) {
      if (entry.is_regular_file() && has_image_extension(entry.path().string())) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    std::set<std::string> labelled;
    for (size_t i = 0; i < files.size(); ++i) {
      DatasetImage image;
      image.path = files[i].string();
      image.file_name = fs::relative(files[i], images_dir).string();
      image.id = image_id(files[i], i);
      const fs::path label = label_path_for(files[i]);
      if (fs::exists(label, ec)) {
        image.labels = parse_labels(read_text(label), static_cast<int>(d.names.size()), "'" + label.string() + "'");
        labelled.insert(fs::weakly_canonical(label).string());
      } else {
        ++d.images_without_labels;
      }
      d.images.push_back(std::move(image));
    }
    const fs::path labels_dir = label_path_for(images_dir / "x").parent_path();
    if (fs::is_directory(labels_dir, ec)) {
      for (const auto& entry : fs::recursive_directory_iterator(labels_dir)) {
        if (entry.path().extension() == ".txt" && !labelled.count(fs::weakly_canonical(entry.path()).string())) {
          ++d.label_files_without_image;
        }
      }
    }
    const fs::path annotations = fs::path(d.root) / "annotations";
    if (fs::is_directory(annotations, ec)) {
      for (const auto& entry : fs::directory_iterator(annotations)) {
        if (entry.path().filename().string().rfind("instances_", 0) == 0 && entry.path().extension() == ".json") {
          d.coco_annotations = entry.path().string();
        }
      }
    }
  } catch (const YAML::Exception& e) {
    bad("'" + yaml_path.string() + "': " + e.what());
  }
  return d;
}

}  // namespace sparrow::yolo
