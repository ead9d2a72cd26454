// Helpers shared by Sparrow's tests: paths to ../shared, files, expected errors, comparisons with
// useful failure messages.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "sparrow/error.h"
#include "sparrow/tensor.h"

namespace sparrow::test {

// The name of a parameterised test over kernel variants (INSTANTIATE_TEST_SUITE_P's last
// argument): the variant's name, '-' written '_' as gtest requires.
struct VariantName {
  template <class Variant>
  std::string operator()(const ::testing::TestParamInfo<Variant>& p) const {
    std::string name = p.param.name;
    for (char& c : name) c = c == '-' ? '_' : c;
    return name;
  }
};

// The shared data folder (../shared beside the checkout; SPARROW_SHARED_DIR overrides).
std::string shared_dir();
std::string shared_path(const std::string& relative);
// Skips the test when the file is missing instead of failing with an unrelated error.
bool require_file(const std::string& path);

// The file's bytes ("" if it cannot be read).
std::string read_binary_file(const std::string& path);
// Replaces the file's contents with `bytes`.
void write_file(const std::string& path, const std::string& bytes);
// Where a test keeps its scratch file `name`: a folder of this process's own in
// the system's temporary folder, removed at exit.
std::string temp_path(const std::string& name);
// `n` random PNG images of a few sizes in the scratch folder `folder` (written on the first call,
// the same files after): calibration images for the compression tests.
std::vector<std::string> random_images(const std::string& folder, int n);

// Sets an environment variable for a scope and restores it afterwards.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old, had_ = true;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { had_ ? ::setenv(name_, old_.c_str(), 1) : ::unsetenv(name_); }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::string old_;
  bool had_ = false;
};

// Runs f, expecting a sparrow::Error with `code` whose message contains every fragment.
template <typename F>
void expect_error(F&& f, ErrorCode code, const std::vector<std::string>& fragments) {
  try {
    f();
    ADD_FAILURE() << "no error raised";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << error_code_name(e.code()) << ": " << e.what();
    for (const std::string& frag : fragments) EXPECT_NE(std::string(e.what()).find(frag), std::string::npos) << e.what();
  }
}

// A tensor's elements as a vector (for EXPECT_EQ against expected values).
template <typename T>
std::vector<T> values_of(const Tensor& t) {
  return std::vector<T>(t.data_as<T>(), t.data_as<T>() + t.size());
}

// Every element within atol + rtol * |expected|; reports the worst element.
::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, double rtol, double atol);
::testing::AssertionResult all_close(const float* actual, const float* expected, int64_t n, double rtol, double atol);

}  // namespace sparrow::test
