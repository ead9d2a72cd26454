// Recognises an image's format from its signature and reads its size from the header, so an
// oversized image is refused before a decoder allocates anything for it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sparrow::yolo {

enum class ImageFormat { kJpeg, kPng, kBmp, kWebp };

const char* image_format_name(ImageFormat format);

struct ImageHeader {
  ImageFormat format = ImageFormat::kJpeg;
  int64_t width = 0, height = 0;  // both at least 1
  bool animated = false;          // an animated WebP, which OpenCV cannot decode
};

// Throws sparrow::Error kInvalidArgument when the bytes are not one of the four formats or the
// header is cut off or declares an empty image.
ImageHeader read_image_header(const uint8_t* data, size_t size);

}  // namespace sparrow::yolo
