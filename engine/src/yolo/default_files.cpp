#include "sparrow/yolo/default_files.h"

#include <cstdlib>
#include <filesystem>

#include "sparrow/error.h"

namespace sparrow::yolo {
namespace fs = std::filesystem;

std::string find_shared_file(const std::string& relative) {
  if (const char* env = std::getenv("SPARROW_SHARED_DIR"); env && *env) {
    std::error_code ec;
    const fs::path path = fs::path(env) / relative;
    return fs::exists(path, ec) ? path.string() : std::string();
  }
  // Tools run from the checkout, from build/, or installed beside it: look up from both.
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  const fs::path wanted = fs::path("shared") / relative;
  for (fs::path start : {fs::current_path(ec), exe.parent_path()}) {
    for (fs::path dir = start; !dir.empty(); dir = dir.parent_path()) {
      if (fs::exists(dir / wanted, ec)) return (dir / wanted).string();
      if (dir == dir.parent_path()) break;
    }
  }
  return {};
}

std::string require_shared_file(const std::string& relative, const std::string& what, const std::string& remedy) {
  std::string path = find_shared_file(relative);
  if (path.empty()) {
    throw Error(ErrorCode::kNotFound,
                "no " + what + " given and the default ../shared/" + relative + " was not found; " + remedy);
  }
  return path;
}

std::string default_model_path() {
  if (const char* env = std::getenv("SPARROW_MODEL"); env && *env) return env;
  return require_shared_file("models/yolov5n.onnx", "model",
                             "pass a model path (--model for sparrow-server) or set SPARROW_MODEL");
}

}  // namespace sparrow::yolo
