// A JPEG's marker structure, read without decoding: the frame size, the number of scans and
// whether the data reaches its end-of-image marker.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sparrow::yolo {

struct JpegMarkers {
  bool has_frame = false;  // a SOFn segment was found; width and height come from the first one
  int64_t width = 0, height = 0;
  int64_t scans = 0;     // SOS segments; progressive JPEGs have several, each a pass over the image
  bool has_end = false;  // the EOI marker was reached before the data ran out
};

// `data` starts with the SOI marker (FF D8). Never fails: a short or garbled stream just leaves
// fields unset, and the caller decides what that means.
JpegMarkers scan_jpeg_markers(const uint8_t* data, size_t size);

}  // namespace sparrow::yolo
