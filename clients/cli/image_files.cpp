#include "image_files.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sparrow/error.h"

namespace sparrow::client {
namespace fs = std::filesystem;
namespace {

bool looks_like_image(const fs::path& p) {
  std::string ext = p.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp" || ext == ".webp" || ext == ".tif" ||
         ext == ".tiff";
}

fs::path executable_dir() {
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

}  // namespace

std::vector<std::string> expand_image_paths(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (!fs::is_directory(p, ec)) {
      files.push_back(p);
      continue;
    }
    std::vector<std::string> found;
    for (const auto& entry : fs::directory_iterator(p, ec)) {
      if (entry.is_regular_file() && looks_like_image(entry.path())) found.push_back(entry.path().string());
    }
    if (ec) throw Error(ErrorCode::kIo, "cannot list folder '" + p + "': " + ec.message());
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

std::string read_file_bytes(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(ErrorCode::kNotFound, "'" + path + "' does not exist");
  if (fs::is_directory(path, ec)) throw Error(ErrorCode::kInvalidArgument, "'" + path + "' is a folder, not a file");
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  if (!f) throw Error(ErrorCode::kIo, "cannot read '" + path + "'");
  return s.str();
}

std::string default_image() {
  const fs::path image = fs::path("data") / "images" / "bus.jpg";
  if (const char* env = std::getenv("SPARROW_SHARED_DIR"); env && *env) return (fs::path(env) / image).string();
  const fs::path relative = fs::path("shared") / image;
  for (fs::path start : {fs::current_path(), executable_dir()}) {
    for (fs::path dir = start; !dir.empty(); dir = dir.parent_path()) {
      std::error_code ec;
      if (fs::exists(dir / relative, ec)) return (dir / relative).string();
      if (dir == dir.parent_path()) break;
    }
  }
  throw Error(ErrorCode::kNotFound,
              "no --images given and the default ../shared/data/images/bus.jpg was not found; pass --images or set "
              "SPARROW_SHARED_DIR");
}

}  // namespace sparrow::client
