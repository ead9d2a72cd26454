// Post-processing with ultralytics' semantics on hand-made predictions.
#include <gtest/gtest.h>

#include "sparrow/error.h"
#include "sparrow/yolo/class_names.h"
#include "sparrow/yolo/detection.h"

namespace sparrow::yolo {
namespace {

// Rows of (cx, cy, w, h, objectness, class scores...) with three classes.
struct Predictions {
  std::vector<float> data;
  void add(float cx, float cy, float w, float h, float obj, std::vector<float> cls) {
    data.insert(data.end(), {cx, cy, w, h, obj});
    data.insert(data.end(), cls.begin(), cls.end());
  }
  int64_t rows() const { return static_cast<int64_t>(data.size() / 8); }
};

TEST(Nms, ThresholdsScoreAsObjectnessTimesClass) {
  Predictions p;
  p.add(50, 50, 20, 20, 0.9f, {0.5f, 0.1f, 0.1f});  // 0.45
  p.add(150, 50, 20, 20, 0.2f, {0.9f, 0.1f, 0.1f});  // objectness 0.2 < 0.25: dropped first
  p.add(250, 50, 20, 20, 0.5f, {0.4f, 0.1f, 0.1f});  // 0.20 < 0.25
  const auto d = non_max_suppression(p.data.data(), p.rows(), 8, NmsOptions{});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_FLOAT_EQ(d[0].score, 0.45f);
  EXPECT_EQ(d[0].class_id, 0);
  EXPECT_FLOAT_EQ(d[0].x1, 40);
  EXPECT_FLOAT_EQ(d[0].y2, 60);
}

TEST(Nms, SuppressesOverlapsWithinAClassOnly) {
  Predictions p;
  p.add(50, 50, 20, 20, 0.9f, {0.9f, 0, 0});
  p.add(52, 50, 20, 20, 0.9f, {0.8f, 0, 0});  // IoU ~0.82 with the first, same class: suppressed
  p.add(52, 52, 20, 20, 0.9f, {0, 0.8f, 0});  // same place, other class: kept
  NmsOptions o;
  auto d = non_max_suppression(p.data.data(), p.rows(), 8, o);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].class_id, 0);
  EXPECT_EQ(d[1].class_id, 1);
  o.agnostic = true;
  EXPECT_EQ(non_max_suppression(p.data.data(), p.rows(), 8, o).size(), 1u);
}

TEST(Nms, MaxDetClassFilterAndMultiLabel) {
  Predictions p;
  for (int i = 0; i < 10; ++i) p.add(30.0f * i + 10, 10, 10, 10, 0.9f, {0.8f, 0.7f, 0.0f});
  NmsOptions o;
  o.max_det = 4;
  EXPECT_EQ(non_max_suppression(p.data.data(), p.rows(), 8, o).size(), 4u);
  o.max_det = 300;
  o.classes = {1};
  EXPECT_EQ(non_max_suppression(p.data.data(), p.rows(), 8, o).size(), 0u);  // best class is 0
  o.multi_label = true;
  const auto d = non_max_suppression(p.data.data(), p.rows(), 8, o);
  ASSERT_EQ(d.size(), 10u);  // class 1 is above the threshold in every row
  for (const auto& x : d) EXPECT_EQ(x.class_id, 1);
  o.classes.clear();
  EXPECT_EQ(non_max_suppression(p.data.data(), p.rows(), 8, o).size(), 20u);
}

TEST(Nms, RejectsRowsTooNarrowForYolo) {
  std::vector<float> rows(10, 0.5f);
  EXPECT_THROW(non_max_suppression(rows.data(), 2, 5, NmsOptions{}), Error);
}

TEST(ScaleToSource, UndoesLetterboxAndClips) {
  // A 1280x720 image letterboxed to 640x640: gain 0.5, vertical padding 140.
  LetterboxTransform t{0.5f, 0, 140, 1280, 720};
  std::vector<Detection> d = {{100, 140, 300, 500, 0.9f, 0}, {-10, 100, 700, 700, 0.5f, 1}};
  scale_to_source(d, t, 640, 640);
  EXPECT_FLOAT_EQ(d[0].x1, 200);
  EXPECT_FLOAT_EQ(d[0].y1, 0);
  EXPECT_FLOAT_EQ(d[0].x2, 600);
  EXPECT_FLOAT_EQ(d[0].y2, 720);
  EXPECT_FLOAT_EQ(d[1].x1, 0);     // clipped
  EXPECT_FLOAT_EQ(d[1].x2, 1280);  // clipped
}

TEST(ClassNames, ParsesListAndDictLiterals) {
  EXPECT_EQ(parse_class_names("['person', 'bicycle', \"it's\"]"), (std::vector<std::string>{"person", "bicycle", "it's"}));
  EXPECT_EQ(parse_class_names("{0: 'a', 1: 'b c'}"), (std::vector<std::string>{"a", "b c"}));
  EXPECT_TRUE(parse_class_names("['unterminated").empty());
  EXPECT_EQ(class_names_for({{"names", "['x', 'y']"}}, 2), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(class_names_for({}, 80)[0], "person");
  EXPECT_EQ(class_names_for({{"names", "['x']"}}, 3)[2], "class2");
}

}  // namespace
}  // namespace sparrow::yolo
