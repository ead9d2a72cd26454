#include "sparrow/yolo/image_decoder.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <new>
#include <string>
#include <system_error>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "sparrow/error.h"
#include "yolo/image_header.h"
#include "yolo/jpeg_markers.h"

namespace sparrow::yolo {
namespace {

// OpenCV's defaults for OPENCV_IO_MAX_IMAGE_WIDTH/HEIGHT and OPENCV_IO_MAX_IMAGE_PIXELS. Past them
// imdecode throws an assertion naming an internal function; checking first gives a clear message.
constexpr int64_t kOpenCvMaxSide = int64_t{1} << 20;
constexpr int64_t kOpenCvMaxPixels = int64_t{1} << 30;
// Every progressive scan is a pass over the whole image, and libjpeg sets no limit of its own, so
// a small file with thousands of scans could keep a decoder busy for minutes. Real encoders write
// at most a few dozen.
constexpr int64_t kMaxJpegScans = 256;

std::string megapixels(double pixels) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MP", pixels / 1e6);
  return text;
}

std::string dimensions(const ImageHeader& header) {
  return std::to_string(header.width) + "x" + std::to_string(header.height);
}

std::string dimensions_and_megapixels(const ImageHeader& header) {
  return dimensions(header) + " (" +
         megapixels(static_cast<double>(header.width) * static_cast<double>(header.height)) + ")";
}

// width * height > limit, without the product overflowing (each side can be up to 2^32 - 1).
bool exceeds(const ImageHeader& header, int64_t limit) { return header.width > limit / header.height; }

void check_size(const ImageHeader& header, const DecodeOptions& options) {
  if (exceeds(header, options.max_pixels)) {
    throw Error(ErrorCode::kResourceExhausted, "image is " + dimensions_and_megapixels(header) + ", above the " +
                                                   megapixels(static_cast<double>(options.max_pixels)) +
                                                   " limit; raise --max-pixels to accept larger images");
  }
  if (header.width > kOpenCvMaxSide || header.height > kOpenCvMaxSide || exceeds(header, kOpenCvMaxPixels)) {
    throw Error(ErrorCode::kResourceExhausted, "image is " + dimensions_and_megapixels(header) +
                                                   ", beyond what OpenCV decodes (at most " +
                                                   std::to_string(kOpenCvMaxSide) + " pixels a side and " +
                                                   megapixels(static_cast<double>(kOpenCvMaxPixels)) + ")");
  }
}

void check_encoded_size(size_t size) {
  if (size == 0) throw Error(ErrorCode::kInvalidArgument, "image is empty (0 bytes)");
  // imdecode takes the bytes as a one-row cv::Mat, whose width is an int.
  if (size > static_cast<size_t>(INT_MAX)) {
    throw Error(ErrorCode::kResourceExhausted,
                "image is " + std::to_string(size) + " bytes; OpenCV decodes at most " + std::to_string(INT_MAX));
  }
}

void check_jpeg_structure(const uint8_t* data, size_t size) {
  const JpegMarkers markers = scan_jpeg_markers(data, size);
  if (!markers.has_end) {
    throw Error(ErrorCode::kInvalidArgument, "corrupt or truncated JPEG: the data ends after " + std::to_string(size) +
                                                 " bytes without reaching the end-of-image marker");
  }
  if (markers.scans > kMaxJpegScans) {
    throw Error(ErrorCode::kResourceExhausted, "JPEG has " + std::to_string(markers.scans) + " scans, more than the " +
                                                   std::to_string(kMaxJpegScans) + " accepted");
  }
}

// OpenCV picks its decoder by signature, not by the format Sparrow identified. When libwebp
// rejects a header Sparrow took for WebP, OpenCV goes on to the DICOM decoder if "DICM" stands at
// byte 128, and GDCM aborts the process on a failed assertion (found by image_decode_fuzzer).
// JPEG, PNG and BMP signatures are OpenCV's own and always win, so only WebP is checked.
void refuse_dicom_signature(const uint8_t* data, size_t size, const ImageHeader& header) {
  if (header.format != ImageFormat::kWebp || size < 132 || std::memcmp(data + 128, "DICM", 4) != 0) return;
  throw Error(ErrorCode::kInvalidArgument, "corrupt WebP: it also carries a DICOM signature at byte 128");
}

// Checks everything that can be checked without decoding.
ImageHeader check_before_decoding(const uint8_t* data, size_t size, const DecodeOptions& options) {
  check_encoded_size(size);
  const ImageHeader header = read_image_header(data, size);
  check_size(header, options);
  if (header.animated) throw Error(ErrorCode::kUnsupported, "animated WebP images are not supported");
  if (header.format == ImageFormat::kJpeg) check_jpeg_structure(data, size);
  refuse_dicom_signature(data, size, header);
  return header;
}

cv::Mat decode_with_opencv(const uint8_t* data, size_t size, const ImageHeader& header) {
  const std::string what = dimensions(header) + " " + image_format_name(header.format);
  // imdecode only reads the buffer; cv::Mat just has no const constructor.
  const cv::Mat buffer(1, static_cast<int>(size), CV_8U, const_cast<uint8_t*>(data));
  cv::Mat image;
  try {
    // ANYDEPTH keeps 16-bit samples for our own rounding; COLOR expands grey and palettes, drops
    // alpha and, unlike IMREAD_UNCHANGED, applies the EXIF orientation.
    image = cv::imdecode(buffer, cv::IMREAD_COLOR | cv::IMREAD_ANYDEPTH);
  } catch (const cv::Exception& e) {
    const ErrorCode code = e.code == cv::Error::StsNoMem ? ErrorCode::kResourceExhausted : ErrorCode::kInvalidArgument;
    throw Error(code, "cannot decode the " + what + ": " + e.err);
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::kResourceExhausted, "out of memory decoding the " + what);
  }
  if (image.empty()) {
    throw Error(ErrorCode::kInvalidArgument, std::string("corrupt or truncated ") + image_format_name(header.format) +
                                                 ": the decoder rejected the " + what);
  }
  return image;
}

// The limits were checked against the header's size. A decoder that saw another one would mean the
// header parser disagrees with it, and the limits protected nothing: a bug, not bad input.
void check_decoded_size(const cv::Mat& image, const ImageHeader& header) {
  const bool as_header = image.cols == header.width && image.rows == header.height;
  const bool rotated = image.cols == header.height && image.rows == header.width;  // EXIF orientation 5..8
  if (!as_header && !rotated) {
    throw Error(ErrorCode::kInternal,
                std::string("OpenCV decoded a ") + std::to_string(image.cols) + "x" + std::to_string(image.rows) +
                    " image from a " + image_format_name(header.format) + " whose header says " + dimensions(header));
  }
}

cv::Mat to_bgr8(const cv::Mat& image) {
  cv::Mat bgr = image;
  // convertTo rounds to nearest; x / 257 is never exactly halfway, so there are no ties to break.
  if (image.depth() == CV_16U) image.convertTo(bgr, CV_8U, 1.0 / 257.0);
  if (bgr.type() != CV_8UC3) {
    throw Error(ErrorCode::kInternal, "OpenCV decoded an image of type " + cv::typeToString(image.type()) +
                                          ", expected 8- or 16-bit with 3 channels");
  }
  return bgr;
}

std::string read_image_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (status.type() == fs::file_type::not_found) throw Error(ErrorCode::kNotFound, "no such image file");
  if (ec) throw Error(ErrorCode::kIo, "cannot read the image file: " + ec.message());
  if (fs::is_directory(status)) throw Error(ErrorCode::kInvalidArgument, "is a directory, not an image file");
  // A pipe or device has no size and could block or never end.
  if (!fs::is_regular_file(status)) throw Error(ErrorCode::kInvalidArgument, "is not a regular file");
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) throw Error(ErrorCode::kIo, std::string("cannot open the image file: ") + std::strerror(errno));
  const std::streamoff size = file.tellg();
  if (size < 0) throw Error(ErrorCode::kIo, "cannot tell the image file's size");
  check_encoded_size(static_cast<size_t>(size));
  std::string bytes(static_cast<size_t>(size), '\0');
  file.seekg(0);
  if (!file.read(bytes.data(), size)) throw Error(ErrorCode::kIo, "reading the image file failed");
  return bytes;
}

}  // namespace

cv::Mat decode_image(const void* data, size_t size, const DecodeOptions& options) {
  if (options.max_pixels < 1) {
    throw Error(ErrorCode::kInvalidArgument,
                "max_pixels must be at least 1, got " + std::to_string(options.max_pixels));
  }
  const auto* bytes = static_cast<const uint8_t*>(data);
  const ImageHeader header = check_before_decoding(bytes, size, options);
  const cv::Mat image = decode_with_opencv(bytes, size, header);
  check_decoded_size(image, header);
  return to_bgr8(image);
}

cv::Mat decode_image_file(const std::string& path, const DecodeOptions& options) {
  try {
    const std::string bytes = read_image_file(path);
    return decode_image(bytes.data(), bytes.size(), options);
  } catch (const Error& e) {
    throw Error(e.code(), path + ": " + e.what());
  }
}

}  // namespace sparrow::yolo
