// Decodes untrusted image bytes (JPEG, PNG, BMP, WebP) into the 8-bit BGR image the YOLO pipeline
// takes, giving the same pixels as ultralytics' cv2.imread(path, IMREAD_COLOR) wherever the two
// can agree:
// - grey and palette images are expanded to BGR; an alpha channel is dropped, not composited
//   (transparent pixels keep whatever colour they store), as IMREAD_COLOR does;
// - 16-bit samples become round(x / 257), the nearest 8-bit value (65535 -> 255, v * 257 -> v);
//   IMREAD_COLOR would truncate to x >> 8 instead, at most one level lower;
// - the EXIF orientation (JPEG APP1, PNG eXIf) is applied, as OpenCV does, so the result is the
//   image as a viewer shows it and detections are in that frame;
// - the size is checked from the header before anything is decoded or allocated;
// - a JPEG that ends before its end-of-image marker is an error: libjpeg would only warn and
//   return the missing rows as flat grey, which a detector would silently run on.
// Every failure is a sparrow::Error naming what was wrong with the image. libpng and OpenCV may
// also print a line to stderr for corrupt input; the Error is the authoritative report.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace cv {
class Mat;
}

namespace sparrow::yolo {

struct DecodeOptions {
  // Images with more pixels are refused from their header (kResourceExhausted). A decoded image
  // takes 3 bytes per pixel, plus the decoder's own buffers (up to 8 bytes per pixel for 16-bit
  // PNGs with alpha, more for progressive JPEGs).
  int64_t max_pixels = 64 * 1000 * 1000;
};

// Returns a non-empty CV_8UC3 image. Errors: kInvalidArgument for empty, unrecognised, corrupt or
// truncated data; kResourceExhausted above max_pixels; kUnsupported for animated WebP.
cv::Mat decode_image(const void* data, size_t size, const DecodeOptions& options = {});

// decode_image on a file's bytes; errors name the path. Also kNotFound for a missing file,
// kInvalidArgument for a directory and kIo when the file cannot be read.
cv::Mat decode_image_file(const std::string& path, const DecodeOptions& options = {});

}  // namespace sparrow::yolo
