#include "support/test_support.h"

#include <cmath>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <unistd.h>

namespace sparrow::test {

std::string shared_dir() {
  if (const char* env = std::getenv("SPARROW_SHARED_DIR"); env && *env) return env;
  return SPARROW_DEFAULT_SHARED_DIR;
}

std::string shared_path(const std::string& relative) { return shared_dir() + "/" + relative; }

bool require_file(const std::string& path) { return std::filesystem::exists(path); }

std::string read_binary_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void write_file(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

namespace {

// ctest runs test processes side by side, and two tests may ask for the same
// name: each process gets a folder of its own, removed when it exits.
class ProcessTempDir {
 public:
  ProcessTempDir()
      : path_(std::filesystem::temp_directory_path() / ("sparrow_test_" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~ProcessTempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace

std::string temp_path(const std::string& name) {
  static const ProcessTempDir dir;
  return (dir.path() / name).string();
}

std::vector<std::string> random_images(const std::string& folder, int n) {
  const std::string dir = temp_path(folder);
  std::filesystem::create_directories(dir);
  cv::RNG rng(static_cast<uint64_t>(n) * 7919 + 1);
  std::vector<std::string> files;
  for (int i = 0; i < n; ++i) {
    files.push_back(dir + "/img" + std::to_string(i) + ".png");
    if (std::filesystem::exists(files.back())) continue;
    cv::Mat image(16 + i, 18, CV_8UC3);
    rng.fill(image, cv::RNG::UNIFORM, 0, 256);
    cv::imwrite(files.back(), image);
  }
  return files;
}

::testing::AssertionResult all_close(const float* actual, const float* expected, int64_t n, double rtol, double atol) {
  int64_t worst = -1, bad = 0;
  double worst_excess = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double a = actual[i], e = expected[i];
    const double limit = atol + rtol * std::abs(e);
    const double diff = std::abs(a - e);
    if (!(diff <= limit)) {
      ++bad;
      const double excess = std::isnan(diff) ? INFINITY : diff - limit;
      if (worst < 0 || excess > worst_excess) worst = i, worst_excess = excess;
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  std::ostringstream msg;
  msg << bad << " of " << n << " elements differ beyond rtol " << rtol << " atol " << atol << "; worst at " << worst
      << ": actual " << actual[worst] << " expected " << expected[worst];
  return ::testing::AssertionFailure() << msg.str();
}

::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, double rtol, double atol) {
  if (actual.shape() != expected.shape()) {
    return ::testing::AssertionFailure() << "shape " << shape_string(actual.shape()) << " != " << shape_string(expected.shape());
  }
  if (actual.dtype() != DType::kFloat32 || expected.dtype() != DType::kFloat32) {
    if (actual.dtype() != expected.dtype()) return ::testing::AssertionFailure() << "dtypes differ";
    if (std::memcmp(actual.data(), expected.data(), actual.bytes()) != 0) return ::testing::AssertionFailure() << "values differ";
    return ::testing::AssertionSuccess();
  }
  return all_close(actual.data_as<float>(), expected.data_as<float>(), actual.size(), rtol, atol);
}

}  // namespace sparrow::test
