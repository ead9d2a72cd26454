// Writes the image fuzzer's seed corpus into the directory given: a small image of every kind
// decode_image accepts, so mutations start from valid structure in every decoder.
// Usage: make_image_seeds DIR
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace {

using Bytes = std::vector<uint8_t>;

cv::Mat pattern(int width, int height, int type) {
  cv::Mat image(height, width, type);
  cv::randu(image, 0, type == CV_16UC3 ? 65536 : 256);
  cv::GaussianBlur(image, image, cv::Size(3, 3), 0);  // some structure for the codecs to model
  return image;
}

// An APP1 Exif segment (Orientation = 6) right after SOI, so mutations reach OpenCV's EXIF reader.
Bytes with_exif_orientation(Bytes jpeg) {
  const Bytes app1 = {0xFF, 0xE1, 0x00, 0x22, 'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0,
                      1,    0,    0x12, 0x01, 3,   0,   1,   0,   0, 0, 6,   0,   0,  0, 0, 0, 0, 0};
  jpeg.insert(jpeg.begin() + 2, app1.begin(), app1.end());
  return jpeg;
}

void write(const std::string& path, const Bytes& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

Bytes encode(const std::string& ext, const cv::Mat& image, const std::vector<int>& params = {}) {
  Bytes bytes;
  cv::imencode(ext, image, bytes, params);
  return bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const cv::Mat bgr = pattern(16, 12, CV_8UC3);
  cv::Mat grey, bgra;
  cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
  cv::cvtColor(bgr, bgra, cv::COLOR_BGR2BGRA);

  write(dir + "/baseline.jpg", encode(".jpg", bgr, {cv::IMWRITE_JPEG_QUALITY, 80}));
  write(dir + "/progressive.jpg", encode(".jpg", bgr, {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
  write(dir + "/grey.jpg", encode(".jpg", grey));
  write(dir + "/exif.jpg", with_exif_orientation(encode(".jpg", bgr)));
  write(dir + "/pixel.jpg", encode(".jpg", cv::Mat(1, 1, CV_8UC3, cv::Scalar(1, 2, 3))));
  write(dir + "/rgb.png", encode(".png", bgr));
  write(dir + "/rgb16.png", encode(".png", pattern(8, 6, CV_16UC3)));
  write(dir + "/grey.png", encode(".png", grey));
  write(dir + "/bgra.png", encode(".png", bgra));
  write(dir + "/bgr.bmp", encode(".bmp", bgr));
  write(dir + "/grey.bmp", encode(".bmp", grey));
  write(dir + "/bgra.bmp", encode(".bmp", bgra));
  if (cv::haveImageWriter(".webp")) {
    write(dir + "/lossy.webp", encode(".webp", bgr, {cv::IMWRITE_WEBP_QUALITY, 80}));
    write(dir + "/lossless.webp", encode(".webp", bgr, {cv::IMWRITE_WEBP_QUALITY, 101}));
    write(dir + "/alpha.webp", encode(".webp", bgra, {cv::IMWRITE_WEBP_QUALITY, 80}));
  }
  return 0;
}
