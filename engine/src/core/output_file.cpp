#include "sparrow/output_file.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace sparrow {
namespace fs = std::filesystem;

void check_writable(const std::string& path) {
  const auto refuse = [&](const std::string& why) { return Error(ErrorCode::kIo, "cannot write '" + path + "': " + why); };
  std::error_code ec;
  if (path.empty()) throw Error(ErrorCode::kInvalidArgument, "an output file name is empty");
  if (fs::is_directory(path, ec)) throw refuse("it is a folder");
  const fs::path parent = fs::path(path).parent_path();
  const std::string folder = parent.empty() ? "." : parent.string();
  if (!fs::exists(folder, ec)) throw refuse("no folder '" + folder + "'");
  if (!fs::is_directory(folder, ec)) throw refuse("'" + folder + "' is not a folder");
  if (::access(folder.c_str(), W_OK) != 0) throw refuse(std::string("folder '") + folder + "': " + std::strerror(errno));
}

void make_output_folder(const std::string& path) {
  const auto refuse = [&](const std::string& why) { return Error(ErrorCode::kIo, "cannot create output folder '" + path + "': " + why); };
  std::error_code ec;
  if (fs::exists(path, ec) && !fs::is_directory(path, ec)) throw refuse("a file of that name is in the way");
  fs::create_directories(path, ec);
  if (ec) throw refuse(ec.message());
}

void write_text_file(const std::string& path, const std::string& contents) {
  errno = 0;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  if (!out || !out.flush()) throw write_failed(path);
}

Error write_failed(const std::string& path) {
  const int e = errno;
  return Error(ErrorCode::kIo, "cannot write '" + path + "'" + (e ? std::string(": ") + std::strerror(e) : std::string()));
}

}  // namespace sparrow
