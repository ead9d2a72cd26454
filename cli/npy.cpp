#include "npy.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>

#include "sparrow/error.h"
#include "sparrow/output_file.h"

namespace sparrow::cli {
namespace {

[[noreturn]] void bad(const std::string& path, const std::string& why) {
  throw Error(ErrorCode::kInvalidArgument, "'" + path + "' is not a usable .npy file: " + why);
}

const char* descr_of(DType dtype) {
  switch (dtype) {
    case DType::kFloat32: return "<f4";
    case DType::kUint8: return "|u1";
    case DType::kInt8: return "|i1";
    case DType::kInt32: return "<i4";
    case DType::kInt64: return "<i8";
    case DType::kBool: return "|b1";
  }
  return "";
}

DType dtype_of_descr(const std::string& path, const std::string& descr) {
  for (DType d : {DType::kFloat32, DType::kUint8, DType::kInt8, DType::kInt32, DType::kInt64, DType::kBool}) {
    if (descr == descr_of(d)) return d;
  }
  bad(path, "dtype '" + descr + "' is not supported (use float32, uint8, int8, int32, int64 or bool, little-endian)");
}

}  // namespace

Tensor read_npy(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(ErrorCode::kNotFound, "cannot open '" + path + "'");
  char magic[8];
  if (!f.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0) bad(path, "missing the \\x93NUMPY magic");
  const int major = static_cast<unsigned char>(magic[6]);
  uint32_t header_len = 0;
  if (major == 1) {
    unsigned char b[2];
    if (!f.read(reinterpret_cast<char*>(b), 2)) bad(path, "truncated header");
    header_len = b[0] | (b[1] << 8);
  } else if (major == 2 || major == 3) {
    unsigned char b[4];
    if (!f.read(reinterpret_cast<char*>(b), 4)) bad(path, "truncated header");
    header_len = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<uint32_t>(b[3]) << 24);
  } else {
    bad(path, "format version " + std::to_string(major) + " is unknown");
  }
  if (header_len > (1u << 20)) bad(path, "header is implausibly large");
  std::string header(header_len, '\0');
  if (!f.read(header.data(), header_len)) bad(path, "truncated header");

  std::smatch m;
  if (!std::regex_search(header, m, std::regex(R"('descr'\s*:\s*'([^']*)')"))) bad(path, "header has no descr");
  const DType dtype = dtype_of_descr(path, m[1]);
  if (std::regex_search(header, m, std::regex(R"('fortran_order'\s*:\s*True)"))) bad(path, "Fortran order is not supported");
  if (!std::regex_search(header, m, std::regex(R"('shape'\s*:\s*\(([^)]*)\))"))) bad(path, "header has no shape");
  Shape shape;
  const std::string dims = m[1];
  const std::regex number(R"(\d+)");
  std::sregex_iterator it(dims.begin(), dims.end(), number), end;
  for (; it != end; ++it) {
    const std::string d = it->str();
    if (d.size() > 12) bad(path, "dim " + d + " is absurd");
    shape.push_back(std::stoll(d));
  }

  f.seekg(0, std::ios::end);
  const auto file_size = static_cast<size_t>(f.tellg());
  const size_t data_start = (major == 1 ? 10 : 12) + header_len;
  const size_t expected = static_cast<size_t>(num_elements(shape)) * dtype_size(dtype);
  if (file_size < data_start || file_size - data_start != expected) {
    bad(path, "holds " + std::to_string(file_size - std::min(file_size, data_start)) + " data bytes, shape " +
                  shape_string(shape) + " needs " + std::to_string(expected));
  }
  Tensor t(dtype, shape);
  f.seekg(static_cast<std::streamoff>(data_start));
  if (expected && !f.read(static_cast<char*>(t.data()), static_cast<std::streamsize>(expected))) bad(path, "read failed");
  return t;
}

void write_npy(const std::string& path, const Tensor& tensor) {
  std::string dims;
  for (int64_t d : tensor.shape()) dims += std::to_string(d) + ", ";
  if (tensor.rank() > 1) dims.erase(dims.size() - 2);  // "(1, 3)" but "(5,)" for rank 1
  std::string header = std::string("{'descr': '") + descr_of(tensor.dtype()) + "', 'fortran_order': False, 'shape': (" +
                       dims + "), }";
  // Pad so that the data starts on a 64-byte boundary, ending the header with a newline.
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  errno = 0;
  std::ofstream f(path, std::ios::binary);
  if (!f) throw write_failed(path);
  const uint16_t len = static_cast<uint16_t>(header.size());
  f.write("\x93NUMPY\x01\x00", 8);
  const char len_bytes[2] = {static_cast<char>(len & 0xff), static_cast<char>(len >> 8)};
  f.write(len_bytes, 2);
  f.write(header.data(), static_cast<std::streamsize>(header.size()));
  f.write(static_cast<const char*>(tensor.data()), static_cast<std::streamsize>(tensor.bytes()));
  if (!f) throw Error(ErrorCode::kIo, "writing '" + path + "' failed");
}

}  // namespace sparrow::cli
