// decode_image on well-formed images of every accepted kind, and on the bad input a server will
// see: empty, foreign, truncated, corrupt and oversized data. Test images are made in memory.
#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "sparrow/error.h"
#include "sparrow/yolo/image_decoder.h"
#include "sparrow/yolo/letterbox.h"
#include "support/test_support.h"

namespace sparrow::yolo {
namespace {

using test::expect_error;

using Bytes = std::vector<uint8_t>;

Bytes encode(const std::string& ext, const cv::Mat& image, const std::vector<int>& params = {}) {
  Bytes bytes;
  EXPECT_TRUE(cv::imencode(ext, image, bytes, params)) << ext;
  return bytes;
}

cv::Mat decode(const Bytes& bytes, const DecodeOptions& options = {}) {
  return decode_image(bytes.data(), bytes.size(), options);
}

// A 3-channel image with a different value in every channel of every pixel.
cv::Mat gradient(int width, int height) {
  cv::Mat image(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) image.at<cv::Vec3b>(y, x) = cv::Vec3b(x * 7 % 256, y * 13 % 256, (x + y) * 3 % 256);
  }
  return image;
}

// Smooth in every channel, so lossy codecs reproduce it closely.
cv::Mat smooth_gradient(int width, int height) {
  cv::Mat image(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) image.at<cv::Vec3b>(y, x) = cv::Vec3b(x * 255 / width, y * 255 / height, 128);
  }
  return image;
}

int max_abs_diff(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat diff;
  cv::absdiff(a, b, diff);
  double worst = 0;
  cv::minMaxLoc(diff.reshape(1), nullptr, &worst);
  return static_cast<int>(worst);
}

void expect_bgr(const cv::Mat& image, int width, int height) {
  EXPECT_EQ(image.cols, width);
  EXPECT_EQ(image.rows, height);
  EXPECT_EQ(image.type(), CV_8UC3);
}

void append_be(Bytes& out, uint32_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

void append_le(Bytes& out, uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

void append(Bytes& out, const std::string& text) { out.insert(out.end(), text.begin(), text.end()); }

// --- Hand-made PNGs, for the colour types cv::imencode never writes (palette, grey + alpha). ---

uint32_t crc32(const Bytes& bytes) {
  uint32_t crc = 0xFFFFFFFF;
  for (uint8_t b : bytes) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320 & (0 - (crc & 1)));
  }
  return ~crc;
}

void append_chunk(Bytes& png, const std::string& type, const Bytes& data) {
  append_be(png, static_cast<uint32_t>(data.size()), 4);
  Bytes typed(type.begin(), type.end());
  typed.insert(typed.end(), data.begin(), data.end());
  png.insert(png.end(), typed.begin(), typed.end());
  append_be(png, crc32(typed), 4);
}

// A zlib stream holding one stored (uncompressed) deflate block: enough for a few pixels.
Bytes zlib_stored(const Bytes& raw) {
  Bytes out = {0x78, 0x01, 0x01};
  append_le(out, static_cast<uint32_t>(raw.size()), 2);
  append_le(out, static_cast<uint32_t>(~raw.size()), 2);
  out.insert(out.end(), raw.begin(), raw.end());
  uint32_t a = 1, b = 0;
  for (uint8_t byte : raw) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  append_be(out, (b << 16) | a, 4);
  return out;
}

Bytes png_signature_and_header(uint32_t width, uint32_t height, int bit_depth, int color_type) {
  Bytes png = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
  Bytes ihdr;
  append_be(ihdr, width, 4);
  append_be(ihdr, height, 4);
  ihdr.insert(ihdr.end(), {static_cast<uint8_t>(bit_depth), static_cast<uint8_t>(color_type), 0, 0, 0});
  append_chunk(png, "IHDR", ihdr);
  return png;
}

// `rows` are the raw scanlines, each without its filter byte.
Bytes make_png(uint32_t width, int bit_depth, int color_type, const std::vector<std::pair<std::string, Bytes>>& chunks,
               const std::vector<Bytes>& rows) {
  Bytes png = png_signature_and_header(width, static_cast<uint32_t>(rows.size()), bit_depth, color_type);
  for (const auto& [type, data] : chunks) append_chunk(png, type, data);
  Bytes raw;
  for (const Bytes& row : rows) {
    raw.push_back(0);  // filter: none
    raw.insert(raw.end(), row.begin(), row.end());
  }
  append_chunk(png, "IDAT", zlib_stored(raw));
  append_chunk(png, "IEND", {});
  return png;
}

// --- Well-formed images. ---

TEST(ImageDecoder, JpegDecodesToBgr) {
  const cv::Mat image = smooth_gradient(64, 48);
  const cv::Mat decoded = decode(encode(".jpg", image, {cv::IMWRITE_JPEG_QUALITY, 100}));
  expect_bgr(decoded, 64, 48);
  EXPECT_LE(max_abs_diff(decoded, image), 8);
}

TEST(ImageDecoder, ProgressiveJpegDecodes) {
  const cv::Mat image = smooth_gradient(40, 30);
  const cv::Mat decoded =
      decode(encode(".jpg", image, {cv::IMWRITE_JPEG_QUALITY, 100, cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
  expect_bgr(decoded, 40, 30);
  EXPECT_LE(max_abs_diff(decoded, image), 8);
}

TEST(ImageDecoder, PngIsExact) {
  const cv::Mat image = gradient(33, 17);
  const cv::Mat decoded = decode(encode(".png", image));
  expect_bgr(decoded, 33, 17);
  EXPECT_EQ(max_abs_diff(decoded, image), 0);
}

TEST(ImageDecoder, BmpIsExact) {
  const cv::Mat image = gradient(31, 9);  // odd width: rows are padded to 4 bytes
  const cv::Mat decoded = decode(encode(".bmp", image));
  expect_bgr(decoded, 31, 9);
  EXPECT_EQ(max_abs_diff(decoded, image), 0);
}

TEST(ImageDecoder, LosslessWebpIsExact) {
  if (!cv::haveImageWriter(".webp")) GTEST_SKIP() << "this OpenCV has no WebP codec";
  const cv::Mat image = gradient(20, 10);
  const cv::Mat decoded = decode(encode(".webp", image, {cv::IMWRITE_WEBP_QUALITY, 101}));  // >100: lossless
  expect_bgr(decoded, 20, 10);
  EXPECT_EQ(max_abs_diff(decoded, image), 0);
}

TEST(ImageDecoder, LossyWebpDecodes) {
  if (!cv::haveImageWriter(".webp")) GTEST_SKIP() << "this OpenCV has no WebP codec";
  const cv::Mat image(24, 16, CV_8UC3, cv::Scalar(40, 120, 200));
  const cv::Mat decoded = decode(encode(".webp", image, {cv::IMWRITE_WEBP_QUALITY, 90}));
  expect_bgr(decoded, 16, 24);
  EXPECT_LE(max_abs_diff(decoded, image), 6);
}

TEST(ImageDecoder, GreyIsReplicatedToThreeChannels) {
  cv::Mat grey(5, 7, CV_8UC1);
  for (int i = 0; i < grey.rows * grey.cols; ++i) grey.data[i] = static_cast<uint8_t>(i * 11);
  cv::Mat expected;
  cv::merge(std::vector<cv::Mat>{grey, grey, grey}, expected);
  for (const char* ext : {".png", ".bmp"}) {
    const cv::Mat decoded = decode(encode(ext, grey));
    expect_bgr(decoded, 7, 5);
    EXPECT_EQ(max_abs_diff(decoded, expected), 0) << ext;
  }
}

TEST(ImageDecoder, SixteenBitSamplesRoundToNearestEightBit) {
  // Every 16-bit value once, as grey: the result must be round(v / 257) in all three channels.
  cv::Mat grey16(256, 256, CV_16UC1);
  for (int v = 0; v < 65536; ++v) grey16.at<uint16_t>(v / 256, v % 256) = static_cast<uint16_t>(v);
  const cv::Mat decoded = decode(encode(".png", grey16));
  expect_bgr(decoded, 256, 256);
  int wrong = 0;
  for (int v = 0; v < 65536; ++v) {
    const int expected = (2 * v + 257) / 514;  // round(v / 257); never a tie
    const cv::Vec3b got = decoded.at<cv::Vec3b>(v / 256, v % 256);
    if (got[0] != expected || got[1] != expected || got[2] != expected) ++wrong;
  }
  EXPECT_EQ(wrong, 0);
}

TEST(ImageDecoder, SixteenBitColourKeepsChannelOrder) {
  const cv::Mat bgr16(2, 3, CV_16UC3, cv::Scalar(1000, 30000, 65535));
  const cv::Mat decoded = decode(encode(".png", bgr16));
  expect_bgr(decoded, 3, 2);
  EXPECT_EQ(decoded.at<cv::Vec3b>(1, 2), cv::Vec3b(4, 117, 255));
}

TEST(ImageDecoder, AlphaIsDropped) {
  // Fully transparent pixels keep their stored colour, as cv2.imread(IMREAD_COLOR) gives them.
  cv::Mat bgra(2, 2, CV_8UC4, cv::Scalar(10, 20, 30, 0));
  bgra.at<cv::Vec4b>(1, 1) = cv::Vec4b(200, 150, 100, 255);
  const cv::Mat decoded = decode(encode(".png", bgra));
  expect_bgr(decoded, 2, 2);
  EXPECT_EQ(decoded.at<cv::Vec3b>(0, 0), cv::Vec3b(10, 20, 30));
  EXPECT_EQ(decoded.at<cv::Vec3b>(1, 1), cv::Vec3b(200, 150, 100));

  const cv::Mat bgra16(1, 1, CV_16UC4, cv::Scalar(257 * 10, 257 * 20, 257 * 30, 0));
  EXPECT_EQ(decode(encode(".png", bgra16)).at<cv::Vec3b>(0, 0), cv::Vec3b(10, 20, 30));
}

TEST(ImageDecoder, PalettePngIsExpanded) {
  const Bytes palette = {255, 0, 0, 0, 255, 0, 0, 0, 255};  // RGB: red, green, blue
  const Bytes plain = make_png(3, 8, 3, {{"PLTE", palette}}, {{0, 1, 2}});
  // tRNS makes entry 0 transparent; dropping alpha keeps its colour.
  const Bytes transparent = make_png(3, 8, 3, {{"PLTE", palette}, {"tRNS", {0}}}, {{0, 1, 2}});
  // 2 bits per index: the three pixels share one byte, 00 01 10 xx.
  const Bytes packed = make_png(3, 2, 3, {{"PLTE", palette}}, {{0b00011000}});
  for (const Bytes* png : {&plain, &transparent, &packed}) {
    const cv::Mat decoded = decode(*png);
    expect_bgr(decoded, 3, 1);
    EXPECT_EQ(decoded.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 255));
    EXPECT_EQ(decoded.at<cv::Vec3b>(0, 1), cv::Vec3b(0, 255, 0));
    EXPECT_EQ(decoded.at<cv::Vec3b>(0, 2), cv::Vec3b(255, 0, 0));
  }
}

TEST(ImageDecoder, SixteenBitGreyWithAlphaPng) {
  // Colour type 4: grey + alpha, 16 bits each. 0x1234 = 4660 -> round(4660 / 257) = 18.
  const cv::Mat decoded = decode(make_png(1, 16, 4, {}, {{0x12, 0x34, 0x00, 0x00}}));
  expect_bgr(decoded, 1, 1);
  EXPECT_EQ(decoded.at<cv::Vec3b>(0, 0), cv::Vec3b(18, 18, 18));
}

TEST(ImageDecoder, OnePixelImages) {
  const cv::Mat pixel(1, 1, CV_8UC3, cv::Scalar(7, 77, 177));
  EXPECT_EQ(decode(encode(".png", pixel)).at<cv::Vec3b>(0, 0), cv::Vec3b(7, 77, 177));
  EXPECT_EQ(decode(encode(".bmp", pixel)).at<cv::Vec3b>(0, 0), cv::Vec3b(7, 77, 177));
  expect_bgr(decode(encode(".jpg", pixel)), 1, 1);
  if (cv::haveImageWriter(".webp")) expect_bgr(decode(encode(".webp", pixel)), 1, 1);
}

TEST(ImageDecoder, JpegWithDataAfterTheEndMarkerDecodes) {
  // Some cameras append data after EOI; libjpeg ignores it and so must the truncation check.
  Bytes jpeg = encode(".jpg", gradient(16, 16));
  jpeg.insert(jpeg.end(), 100, 0x00);
  expect_bgr(decode(jpeg), 16, 16);
}

TEST(ImageDecoder, SampleImage) {
  const std::string path = test::shared_path("data/images/bus.jpg");
  if (!test::require_file(path)) GTEST_SKIP() << path << " missing";
  const cv::Mat decoded = decode_image_file(path);
  expect_bgr(decoded, 810, 1080);
  // An 8-bit JPEG gives exactly the pixels of cv2.imread(path, IMREAD_COLOR), as ultralytics reads it.
  EXPECT_EQ(max_abs_diff(decoded, cv::imread(path, cv::IMREAD_COLOR)), 0);
}

// --- EXIF orientation. ---

// A little-endian TIFF structure whose one IFD holds only Orientation (tag 0x0112, SHORT).
Bytes tiff_orientation(int orientation) {
  Bytes tiff;
  append(tiff, "II*");
  tiff.push_back(0);
  append_le(tiff, 8, 4);  // IFD offset
  append_le(tiff, 1, 2);  // one entry
  append_le(tiff, 0x0112, 2);
  append_le(tiff, 3, 2);  // SHORT
  append_le(tiff, 1, 4);  // count
  append_le(tiff, static_cast<uint32_t>(orientation), 4);
  append_le(tiff, 0, 4);  // no next IFD
  return tiff;
}

Bytes exif_orientation_segment(int orientation) {
  Bytes exif;
  append(exif, std::string("Exif\0\0", 6));
  const Bytes tiff = tiff_orientation(orientation);
  exif.insert(exif.end(), tiff.begin(), tiff.end());
  Bytes segment = {0xFF, 0xE1};
  append_be(segment, static_cast<uint32_t>(exif.size() + 2), 2);
  segment.insert(segment.end(), exif.begin(), exif.end());
  return segment;
}

TEST(ImageDecoder, ExifOrientationIsApplied) {
  // Quadrants: red top-left, green top-right, blue bottom-left, white bottom-right.
  cv::Mat image(32, 64, CV_8UC3);
  image(cv::Rect(0, 0, 32, 16)).setTo(cv::Scalar(0, 0, 255));
  image(cv::Rect(32, 0, 32, 16)).setTo(cv::Scalar(0, 255, 0));
  image(cv::Rect(0, 16, 32, 16)).setTo(cv::Scalar(255, 0, 0));
  image(cv::Rect(32, 16, 32, 16)).setTo(cv::Scalar(255, 255, 255));
  Bytes jpeg = encode(".jpg", image, {cv::IMWRITE_JPEG_QUALITY, 95});
  const Bytes app1 = exif_orientation_segment(6);
  jpeg.insert(jpeg.begin() + 2, app1.begin(), app1.end());  // right after SOI

  // Orientation 6: the stored image is shown turned 90 degrees clockwise.
  const cv::Mat decoded = decode(jpeg);
  expect_bgr(decoded, 32, 64);
  const auto near = [&](int x, int y, cv::Vec3b expected) {
    const cv::Vec3b got = decoded.at<cv::Vec3b>(y, x);
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(got[c], expected[c], 40) << "at " << x << "," << y;
  };
  near(8, 16, cv::Vec3b(255, 0, 0));      // top-left: blue (was bottom-left)
  near(24, 16, cv::Vec3b(0, 0, 255));     // top-right: red (was top-left)
  near(8, 48, cv::Vec3b(255, 255, 255));  // bottom-left: white (was bottom-right)
  near(24, 48, cv::Vec3b(0, 255, 0));     // bottom-right: green (was top-right)
}

TEST(ImageDecoder, PngExifOrientationIsApplied) {
  // A 2x1 RGB image, red then blue, with an eXIf chunk saying orientation 6: shown as 1x2, red on top.
  const Bytes png = make_png(2, 8, 2, {{"eXIf", tiff_orientation(6)}}, {{255, 0, 0, 0, 0, 255}});
  const cv::Mat decoded = decode(png);
  expect_bgr(decoded, 1, 2);
  EXPECT_EQ(decoded.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 255));
  EXPECT_EQ(decoded.at<cv::Vec3b>(1, 0), cv::Vec3b(255, 0, 0));
}

// --- Bad input. ---

TEST(ImageDecoder, EmptyInput) {
  expect_error([] { decode_image(nullptr, 0); }, ErrorCode::kInvalidArgument, {"empty (0 bytes)"});
}

TEST(ImageDecoder, ForeignBytes) {
  std::mt19937 rng(42);
  Bytes noise(1000);
  for (uint8_t& b : noise) b = static_cast<uint8_t>(rng());
  noise[0] = 'x';  // not a signature byte of any accepted format
  expect_error([&] { decode(noise); }, ErrorCode::kInvalidArgument, {"not a JPEG, PNG, BMP or WebP image"});
  const std::string gif = "GIF89a\x01\x00\x01\x00";
  expect_error([&] { decode(Bytes(gif.begin(), gif.end())); }, ErrorCode::kInvalidArgument,
               {"not a JPEG, PNG, BMP or WebP image", "47 49 46 38"});
}

TEST(ImageDecoder, TruncatedJpegIsAnError) {
  cv::Mat noise(64, 64, CV_8UC3);
  cv::randu(noise, 0, 256);
  const Bytes jpeg = encode(".jpg", noise);
  for (size_t keep : {jpeg.size() / 2, jpeg.size() - 2, size_t{4}}) {
    const Bytes cut(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(keep));
    expect_error([&] { decode(cut); }, ErrorCode::kInvalidArgument, {"truncated JPEG"});
  }
}

TEST(ImageDecoder, TruncatedSampleJpegIsAnError) {
  const std::string path = test::shared_path("data/images/bus.jpg");
  if (!test::require_file(path)) GTEST_SKIP() << path << " missing";
  std::ifstream file(path, std::ios::binary);
  Bytes jpeg((std::istreambuf_iterator<char>(file)), {});
  jpeg.resize(jpeg.size() * 3 / 4);
  expect_error([&] { decode(jpeg); }, ErrorCode::kInvalidArgument, {"truncated JPEG"});
}

TEST(ImageDecoder, TruncatedImagesOfOtherFormatsAreErrors) {
  cv::Mat noise(40, 40, CV_8UC3);
  cv::randu(noise, 0, 256);
  std::vector<std::string> formats = {"PNG", "BMP"};
  if (cv::haveImageWriter(".webp")) formats.push_back("WebP");
  for (const std::string& format : formats) {
    const std::string ext = format == "PNG" ? ".png" : format == "BMP" ? ".bmp" : ".webp";
    const Bytes bytes = encode(ext, noise);
    for (size_t keep : {bytes.size() / 2, bytes.size() - 1, size_t{16}}) {
      const Bytes cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(keep));
      expect_error([&] { decode(cut); }, ErrorCode::kInvalidArgument, {"truncated " + format});
    }
  }
}

TEST(ImageDecoder, CorruptBytesGiveAnImageOrAnError) {
  // Random damage to valid images: either a decoded image or a sparrow::Error, never a crash and
  // never kInternal.
  std::vector<Bytes> images = {encode(".jpg", gradient(24, 16)), encode(".png", gradient(24, 16)),
                               encode(".bmp", gradient(24, 16))};
  if (cv::haveImageWriter(".webp")) images.push_back(encode(".webp", gradient(24, 16)));
  std::mt19937 rng(7);
  for (const Bytes& image : images) {
    for (int trial = 0; trial < 100; ++trial) {
      Bytes damaged = image;
      for (int k = 0; k < 4; ++k) damaged[rng() % damaged.size()] = static_cast<uint8_t>(rng());
      try {
        EXPECT_EQ(decode(damaged).type(), CV_8UC3);
      } catch (const Error& e) {
        EXPECT_NE(e.code(), ErrorCode::kInternal) << e.what();
      }
    }
  }
}

TEST(ImageDecoder, TooManyJpegScans) {
  Bytes jpeg = {0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 8, 0x00, 0x08, 0x00, 0x08, 1, 1, 0x11, 0};
  for (int i = 0; i < 1000; ++i) jpeg.insert(jpeg.end(), {0xFF, 0xDA, 0x00, 0x02});
  jpeg.insert(jpeg.end(), {0xFF, 0xD9});
  expect_error([&] { decode(jpeg); }, ErrorCode::kResourceExhausted, {"1000 scans"});
}

// image_decode_fuzzer's crash: a WebP header libwebp rejects (VP8X chunk size 0x494EDEFF) with
// "DICM" at byte 128, which OpenCV handed to GDCM, which aborted the process.
TEST(ImageDecoder, WebpWithADicomSignatureIsAnErrorNotACrash) {
  const Bytes bytes = {
      0x52, 0x49, 0x46, 0x46, 0xa8, 0x00, 0x00, 0x01, 0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38, 0x58,
      0xff, 0xde, 0x4e, 0x49, 0x4d, 0x75, 0xff, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3a,
      0xc6, 0x2f, 0xff, 0xd8, 0xff, 0xe1, 0x00, 0x22, 0x45, 0x78, 0x69, 0x66, 0x00, 0x01, 0x00, 0x12,
      0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff,
      0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x02, 0x58, 0x01, 0x00, 0x00, 0x01, 0x00, 0xb5, 0x00,
      0x00, 0x7e, 0xdb, 0x00, 0x43, 0x00, 0x02, 0x01, 0x01, 0x01, 0x01, 0x01, 0x02, 0x01, 0x01, 0x01,
      0x02, 0x02, 0x02, 0x02, 0x02, 0x04, 0x6f, 0x67, 0x02, 0x02, 0x02, 0x05, 0x04, 0x04, 0x03, 0x04,
      0x06, 0x05, 0x06, 0x06, 0x06, 0xff, 0xe1, 0x03, 0x04, 0x06, 0x05, 0x06, 0x06, 0x06, 0xff, 0xe1,
      0x44, 0x49, 0x43, 0x4d, 0x08, 0x06, 0x07, 0xaa, 0x4f, 0x42, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0xdf, 0x07, 0xd9};
  expect_error([&] { decode(bytes); }, ErrorCode::kInvalidArgument, {"WebP", "VP8X chunk is not 10 bytes"});
  // The same with a well-formed VP8X chunk still carries the DICOM signature.
  Bytes fixed = bytes;
  fixed[16] = 10, fixed[17] = 0, fixed[18] = 0, fixed[19] = 0;
  expect_error([&] { decode(fixed); }, ErrorCode::kInvalidArgument, {"DICOM signature at byte 128"});
}

TEST(ImageDecoder, AnimatedWebpIsUnsupported) {
  Bytes webp;
  append(webp, "RIFF");
  append_le(webp, 22, 4);
  append(webp, "WEBPVP8X");
  append_le(webp, 10, 4);
  webp.insert(webp.end(), {0x02, 0, 0, 0});  // flags: animation
  append_le(webp, 9, 3);
  append_le(webp, 9, 3);
  expect_error([&] { decode(webp); }, ErrorCode::kUnsupported, {"animated WebP"});
}

// --- Size limits, from headers alone: none of these has pixel data to decode. ---

Bytes png_header_only(uint32_t width, uint32_t height) { return png_signature_and_header(width, height, 8, 2); }

Bytes jpeg_header_only(uint16_t width, uint16_t height) {
  Bytes jpeg = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x11, 8};
  append_be(jpeg, height, 2);
  append_be(jpeg, width, 2);
  jpeg.insert(jpeg.end(), {3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1});
  return jpeg;
}

Bytes bmp_header_only(int32_t width, int32_t height) {
  Bytes bmp;
  append(bmp, "BM");
  append_le(bmp, 0, 4);
  append_le(bmp, 0, 4);
  append_le(bmp, 54, 4);
  append_le(bmp, 40, 4);
  append_le(bmp, static_cast<uint32_t>(width), 4);
  append_le(bmp, static_cast<uint32_t>(height), 4);
  append_le(bmp, 1, 2);
  append_le(bmp, 24, 2);
  bmp.resize(54, 0);
  return bmp;
}

Bytes webp_header_only(uint32_t width, uint32_t height) {
  Bytes webp;
  append(webp, "RIFF");
  append_le(webp, 22, 4);
  append(webp, "WEBPVP8X");
  append_le(webp, 10, 4);
  webp.insert(webp.end(), {0, 0, 0, 0});
  append_le(webp, width - 1, 3);
  append_le(webp, height - 1, 3);
  return webp;
}

TEST(ImageDecoder, HugeImagesAreRefusedFromTheHeader) {
  const std::vector<std::string> message = {"20000x20000 (400.0 MP)", "above the 64.0 MP limit", "--max-pixels"};
  expect_error([] { decode(png_header_only(20000, 20000)); }, ErrorCode::kResourceExhausted, message);
  expect_error([] { decode(jpeg_header_only(20000, 20000)); }, ErrorCode::kResourceExhausted, message);
  expect_error([] { decode(bmp_header_only(20000, 20000)); }, ErrorCode::kResourceExhausted, message);
  expect_error([] { decode(bmp_header_only(20000, -20000)); }, ErrorCode::kResourceExhausted, message);
  expect_error([] { decode(webp_header_only(20000, 20000)); }, ErrorCode::kResourceExhausted, message);
  // The largest PNG header: the pixel count overflows 64 bits if multiplied naively.
  expect_error([] { decode(png_header_only(0xFFFFFFFF, 0xFFFFFFFF)); }, ErrorCode::kResourceExhausted,
               {"4294967295x4294967295"});
}

TEST(ImageDecoder, HeaderOnlyImagesWithinTheLimitAreCorrupt) {
  // The same headers at a legal size get past the size check and fail as truncated data.
  expect_error([] { decode(png_header_only(100, 100)); }, ErrorCode::kInvalidArgument, {"truncated PNG"});
  expect_error([] { decode(jpeg_header_only(100, 100)); }, ErrorCode::kInvalidArgument, {"truncated JPEG"});
  expect_error([] { decode(bmp_header_only(100, 100)); }, ErrorCode::kInvalidArgument, {"truncated BMP"});
}

TEST(ImageDecoder, LimitIsInclusive) {
  const Bytes png = encode(".png", gradient(100, 100));
  DecodeOptions options;
  options.max_pixels = 10000;
  expect_bgr(decode(png, options), 100, 100);
  options.max_pixels = 9999;
  expect_error([&] { decode(png, options); }, ErrorCode::kResourceExhausted, {"100x100", "0.0 MP limit"});
  options.max_pixels = 0;
  expect_error([&] { decode(png, options); }, ErrorCode::kInvalidArgument, {"max_pixels"});
}

TEST(ImageDecoder, OpenCvSideLimitIsReportedClearly) {
  // 2 MP is within max_pixels, but OpenCV decodes at most 2^20 pixels a side.
  expect_error([] { decode(png_header_only(2000000, 1)); }, ErrorCode::kResourceExhausted,
               {"2000000x1", "beyond what OpenCV decodes"});
}

TEST(ImageDecoder, OpenCvPixelLimitIsReportedClearly) {
  // A max_pixels above OpenCV's own 2^30 still cannot get past it, and says so.
  DecodeOptions options;
  options.max_pixels = int64_t{4} << 30;
  expect_error([&] { decode(png_header_only(40000, 40000), options); }, ErrorCode::kResourceExhausted,
               {"40000x40000 (1600.0 MP)", "beyond what OpenCV decodes", "1073.7 MP"});
}

TEST(ImageDecoder, ZeroSizedHeadersAreCorrupt) {
  expect_error([] { decode(png_header_only(0, 10)); }, ErrorCode::kInvalidArgument,
               {"corrupt or truncated PNG", "0x10"});
  expect_error([] { decode(jpeg_header_only(10, 0)); }, ErrorCode::kInvalidArgument, {"corrupt or truncated JPEG"});
  expect_error([] { decode(bmp_header_only(-5, 10)); }, ErrorCode::kInvalidArgument, {"corrupt or truncated BMP"});
}

// --- Files. ---

TEST(ImageDecoder, Files) {
  const std::filesystem::path dir = test::temp_path("image_decoder");
  std::filesystem::create_directories(dir);
  const std::string good = (dir / "good.png").string(), bad = (dir / "bad.png").string();
  const Bytes png = encode(".png", gradient(5, 4));
  std::ofstream(good, std::ios::binary)
      .write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
  std::ofstream(bad, std::ios::binary) << "not an image";

  expect_bgr(decode_image_file(good), 5, 4);
  expect_error([&] { decode_image_file(bad); }, ErrorCode::kInvalidArgument, {bad, "not a JPEG, PNG, BMP or WebP"});
  expect_error([&] { decode_image_file((dir / "missing.png").string()); }, ErrorCode::kNotFound, {"missing.png"});
  expect_error([&] { decode_image_file(dir.string()); }, ErrorCode::kInvalidArgument, {"directory"});
  std::filesystem::remove_all(dir);
}

// --- Into the letterbox. ---

TEST(ImageDecoder, OnePixelImageLetterboxes) {
  const cv::Mat decoded = decode(encode(".png", cv::Mat(1, 1, CV_8UC3, cv::Scalar(0, 128, 255))));
  std::vector<float> input(3 * 48 * 64);
  const LetterboxTransform t = letterbox(decoded, 48, 64, input.data());
  EXPECT_FLOAT_EQ(t.scale, 48);
  EXPECT_FLOAT_EQ(t.pad_x, 8);
  EXPECT_FLOAT_EQ(t.pad_y, 0);
  const size_t plane = 48 * 64;
  EXPECT_FLOAT_EQ(input[0], 114 / 255.0f);                     // padding, R plane
  EXPECT_FLOAT_EQ(input[24 * 64 + 32], 1.0f);                  // centre, R = 255
  EXPECT_FLOAT_EQ(input[plane + 24 * 64 + 32], 128 / 255.0f);  // G
  EXPECT_FLOAT_EQ(input[2 * plane + 24 * 64 + 32], 0.0f);      // B
}

TEST(ImageDecoder, VeryWideImageLetterboxes) {
  const cv::Mat decoded = decode(encode(".png", cv::Mat(10, 4000, CV_8UC3, cv::Scalar(50, 60, 70))));
  std::vector<float> input(3 * 640 * 640);
  const LetterboxTransform t = letterbox(decoded, 640, 640, input.data());
  EXPECT_FLOAT_EQ(t.scale, 0.16f);
  EXPECT_FLOAT_EQ(t.pad_x, 0);
  EXPECT_FLOAT_EQ(t.pad_y, 319);  // 640 rows hold 2 of image
  EXPECT_FLOAT_EQ(input[318 * 640 + 320], 114 / 255.0f);
  EXPECT_FLOAT_EQ(input[319 * 640 + 320], 70 / 255.0f);
  EXPECT_FLOAT_EQ(input[320 * 640 + 320], 70 / 255.0f);
  EXPECT_FLOAT_EQ(input[321 * 640 + 320], 114 / 255.0f);
}

}  // namespace
}  // namespace sparrow::yolo
