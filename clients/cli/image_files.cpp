#include "image_files.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sparrow/error.h"
#include "sparrow/yolo/default_files.h"

namespace sparrow::client {
namespace fs = std::filesystem;

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
  return yolo::require_shared_file("data/images/bus.jpg", "--images", "pass --images or set SPARROW_SHARED_DIR");
}

}  // namespace sparrow::client
