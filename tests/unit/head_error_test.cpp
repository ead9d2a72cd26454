#include "compression/head_error.h"

#include <gtest/gtest.h>

namespace sparrow {
namespace {

// A head of 3 anchors x (4 box + objectness + 2 classes) over 2 cells: cell 0 is background
// (objectness logit -8), cell 1 holds an object (+8). All other logits are 0.
constexpr int64_t kPerAnchor = 7, kCells = 2;

Tensor head() {
  Tensor t(DType::kFloat32, {1, 3 * kPerAnchor, 1, kCells});
  float* v = t.data_as<float>();
  for (int64_t i = 0; i < t.size(); ++i) v[i] = 0;
  for (int64_t a = 0; a < 3; ++a) {
    v[(a * kPerAnchor + 4) * kCells + 0] = -8;
    v[(a * kPerAnchor + 4) * kCells + 1] = 8;
  }
  return t;
}

double error_with(int64_t channel, int64_t cell, float logit) {
  Tensor changed = head();
  changed.data_as<float>()[channel * kCells + cell] = logit;
  return compression::head_error({{head()}}, {{std::move(changed)}});
}

TEST(HeadError, BoxesAndClassesCountWhereTheDenseModelSeesAnObject) {
  EXPECT_EQ(error_with(0, 1, 0), 0);
  const double on_object = error_with(0, 1, 3);      // anchor 0's x, on the object's cell
  const double on_background = error_with(0, 0, 3);  // the same change on the background cell
  EXPECT_GT(on_object, 0);
  EXPECT_LT(on_background, on_object / 1000);
  EXPECT_LT(error_with(5, 0, 3), on_object / 1000);  // a class score, on background
}

TEST(HeadError, ObjectnessCountsEverywhere) {
  // A background cell that starts to look like an object costs as much as an object fading.
  const double appears = error_with(4, 0, 8), fades = error_with(4, 1, -8);
  EXPECT_GT(appears, 0);
  EXPECT_NEAR(appears, fades, 1e-9);
}

TEST(HeadError, OtherHeadsCountEveryChannelAlike) {
  Tensor dense(DType::kFloat32, {1, 4, 1, 1}), other(DType::kFloat32, {1, 4, 1, 1});
  for (int i = 0; i < 4; ++i) dense.data_as<float>()[i] = other.data_as<float>()[i] = 0;
  other.data_as<float>()[1] = 100;  // sigmoid 0.5 -> 1
  // ||Δ||² / ||dense||² = 0.25 / (4 x 0.25)
  EXPECT_NEAR(compression::head_error({{dense}}, {{other}}), 0.25, 1e-9);
}

}  // namespace
}  // namespace sparrow
