// Helpers shared by Sparrow's tests: paths to ../shared, comparisons with useful failure messages.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "sparrow/tensor.h"

namespace sparrow::test {

// The shared data folder (../shared beside the checkout; SPARROW_SHARED_DIR overrides).
std::string shared_dir();
std::string shared_path(const std::string& relative);
// Skips the test when the file is missing instead of failing with an unrelated error.
bool require_file(const std::string& path);

// Every element within atol + rtol * |expected|; reports the worst element.
::testing::AssertionResult all_close(const Tensor& actual, const Tensor& expected, double rtol, double atol);
::testing::AssertionResult all_close(const float* actual, const float* expected, int64_t n, double rtol, double atol);

}  // namespace sparrow::test
