#include "sparrow/yolo/image_files.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "sparrow/error.h"

namespace sparrow::yolo {
namespace fs = std::filesystem;

bool has_image_extension(const std::string& path) {
  std::string ext = fs::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const char* known : {".bmp", ".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp"}) {
    if (ext == known) return true;
  }
  return false;
}

std::vector<std::string> image_files(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (!fs::is_directory(p, ec)) {
      files.push_back(p);
      continue;
    }
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(p, ec)) {
      if (entry.is_regular_file(ec) && has_image_extension(entry.path().string())) found.push_back(entry.path().string());
    }
    if (ec) throw Error(ErrorCode::kIo, "cannot list folder '" + p + "': " + ec.message());
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

}  // namespace sparrow::yolo
