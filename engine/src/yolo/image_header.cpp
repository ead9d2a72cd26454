#include "yolo/image_header.h"

#include <cstdio>
#include <string>
#include <string_view>

#include "sparrow/error.h"
#include "yolo/byte_view.h"
#include "yolo/jpeg_markers.h"

namespace sparrow::yolo {
namespace {

using namespace std::string_view_literals;

// The signatures OpenCV's decoders check, so a recognised image goes to the matching decoder.
constexpr std::string_view kJpegSignature = "\xFF\xD8\xFF"sv;
constexpr std::string_view kPngSignature = "\x89PNG\r\n\x1A\n"sv;
constexpr std::string_view kBmpSignature = "BM"sv;

std::string leading_bytes(const ByteView& bytes) {
  std::string hex;
  for (size_t i = 0; i < 4 && i < bytes.size(); ++i) {
    char byte[4];
    std::snprintf(byte, sizeof byte, "%s%02x", i == 0 ? "" : " ", bytes.u8(i));
    hex += byte;
  }
  return hex;
}

[[noreturn]] void fail(ImageFormat format, const std::string& why) {
  throw Error(ErrorCode::kInvalidArgument,
              std::string("corrupt or truncated ") + image_format_name(format) + ": " + why);
}

void require(const ByteView& bytes, size_t header_size, ImageFormat format) {
  if (!bytes.has(0, header_size)) {
    fail(format,
         "the data ends after " + std::to_string(bytes.size()) + " bytes, inside the header that gives the image size");
  }
}

ImageHeader read_jpeg(const ByteView& bytes) {
  const JpegMarkers markers = scan_jpeg_markers(bytes.data(), bytes.size());
  if (!markers.has_frame) fail(ImageFormat::kJpeg, "no frame header (SOF marker) giving the image size");
  return {ImageFormat::kJpeg, markers.width, markers.height};
}

ImageHeader read_png(const ByteView& bytes) {
  // Signature (8), then the IHDR chunk, which must come first: length (4), type (4), width, height.
  require(bytes, 24, ImageFormat::kPng);
  if (!bytes.matches(12, "IHDR")) fail(ImageFormat::kPng, "the first chunk is not IHDR");
  return {ImageFormat::kPng, bytes.be(16, 4), bytes.be(20, 4)};
}

ImageHeader read_bmp(const ByteView& bytes) {
  // File header (14 bytes), then an info header whose first field is its own size.
  require(bytes, 18, ImageFormat::kBmp);
  if (bytes.le(14, 4) == 12) {  // OS/2 core header: unsigned 16-bit width and height
    require(bytes, 22, ImageFormat::kBmp);
    return {ImageFormat::kBmp, bytes.le(18, 2), bytes.le(20, 2)};
  }
  // Windows headers: signed 32-bit; a negative height means rows are stored top-down.
  require(bytes, 26, ImageFormat::kBmp);
  const int64_t height = static_cast<int32_t>(bytes.le(22, 4));
  return {ImageFormat::kBmp, static_cast<int32_t>(bytes.le(18, 4)), height < 0 ? -height : height};
}

ImageHeader read_webp(const ByteView& bytes) {
  // RIFF header (12), then the first chunk: FourCC (4), size (4), payload from byte 20.
  require(bytes, 20, ImageFormat::kWebp);
  if (bytes.matches(12, "VP8 ")) {  // lossy: frame tag (3), start code (3), 14-bit width and height
    require(bytes, 30, ImageFormat::kWebp);
    if (!bytes.matches(23, "\x9D\x01\x2A"sv)) fail(ImageFormat::kWebp, "the VP8 frame has no start code");
    return {ImageFormat::kWebp, bytes.le(26, 2) & 0x3FFF, bytes.le(28, 2) & 0x3FFF};
  }
  if (bytes.matches(12, "VP8L")) {  // lossless: signature byte, then 14 bits each of width-1, height-1
    require(bytes, 25, ImageFormat::kWebp);
    if (bytes.u8(20) != 0x2F) fail(ImageFormat::kWebp, "the VP8L chunk has no signature byte");
    const uint32_t bits = bytes.le(21, 4);
    return {ImageFormat::kWebp, (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1};
  }
  if (bytes.matches(12, "VP8X")) {  // extended: flags (1), reserved (3), 24-bit canvas width-1, height-1
    require(bytes, 30, ImageFormat::kWebp);
    if (bytes.le(16, 4) != 10) fail(ImageFormat::kWebp, "the VP8X chunk is not 10 bytes long");
    const bool animated = (bytes.u8(20) & 0x02) != 0;
    return {ImageFormat::kWebp, int64_t{bytes.le(24, 3)} + 1, int64_t{bytes.le(27, 3)} + 1, animated};
  }
  fail(ImageFormat::kWebp, "the first chunk is not VP8, VP8L or VP8X");
}

ImageHeader read_by_signature(const ByteView& bytes) {
  if (bytes.matches(0, kJpegSignature)) return read_jpeg(bytes);
  if (bytes.matches(0, kPngSignature)) return read_png(bytes);
  if (bytes.matches(0, kBmpSignature)) return read_bmp(bytes);
  if (bytes.matches(0, "RIFF") && bytes.matches(8, "WEBP")) return read_webp(bytes);
  throw Error(ErrorCode::kInvalidArgument,
              "not a JPEG, PNG, BMP or WebP image (it starts with bytes " + leading_bytes(bytes) + ")");
}

}  // namespace

const char* image_format_name(ImageFormat format) {
  switch (format) {
    case ImageFormat::kJpeg: return "JPEG";
    case ImageFormat::kPng: return "PNG";
    case ImageFormat::kBmp: return "BMP";
    case ImageFormat::kWebp: return "WebP";
  }
  return "image";
}

ImageHeader read_image_header(const uint8_t* data, size_t size) {
  const ImageHeader header = read_by_signature(ByteView(data, size));
  if (header.width < 1 || header.height < 1) {
    fail(header.format,
         "the header declares a " + std::to_string(header.width) + "x" + std::to_string(header.height) + " image");
  }
  return header;
}

}  // namespace sparrow::yolo
