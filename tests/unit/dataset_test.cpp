// YOLO-layout datasets: label parsing errors name file and line; missing pairs behave as in
// ultralytics.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sparrow/error.h"
#include "sparrow/yolo/dataset.h"
#include "support/test_support.h"

namespace sparrow::yolo {
namespace {
namespace fs = std::filesystem;

void expect_label_error(const std::string& text, const std::string& fragment) {
  try {
    parse_labels(text, 80, "'a.txt'");
    ADD_FAILURE() << "accepted: " << text;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("'a.txt' line 2"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(Labels, ParsesBoxesPolygonsAndDropsDuplicates) {
  const auto l = parse_labels("0 0.5 0.5 0.2 0.4\n\n0 0.5 0.5 0.2 0.4\n3 0.1 0.1 0.3 0.1 0.3 0.5\n", 80, "x");
  ASSERT_EQ(l.size(), 2u);
  EXPECT_EQ(l[0].class_id, 0);
  EXPECT_EQ(l[1].class_id, 3);  // polygon boxed: x 0.1..0.3, y 0.1..0.5
  EXPECT_DOUBLE_EQ(l[1].cx, 0.2);
  EXPECT_DOUBLE_EQ(l[1].h, 0.4);
}

TEST(Labels, MalformedLinesNameFileAndLine) {
  expect_label_error("0 0.5 0.5 0.2 0.4\n0 0.5 0.5\n", "found 3 values");
  expect_label_error("0 0.5 0.5 0.2 0.4\n0 0.5 abc 0.2 0.4\n", "'abc' is not a number");
  expect_label_error("0 0.5 0.5 0.2 0.4\n80 0.5 0.5 0.2 0.4\n", "class 80");
  expect_label_error("0 0.5 0.5 0.2 0.4\n1.5 0.5 0.5 0.2 0.4\n", "class 1.5");
  expect_label_error("0 0.5 0.5 0.2 0.4\n1 0.5 1.5 0.2 0.4\n", "normalised");
}

TEST(Dataset, LoadsCoco128AsUltralyticsDoes) {
  const std::string dir = test::shared_path("data/coco128");
  if (!test::require_file(dir + "/data.yaml")) GTEST_SKIP();
  const Dataset d = load_dataset(dir);
  EXPECT_EQ(d.names.size(), 80u);
  EXPECT_EQ(d.category_ids.size(), 80u);
  EXPECT_EQ(d.category_ids[11], 13);
  EXPECT_EQ(d.images.size(), 128u);
  EXPECT_EQ(d.images_without_labels, 2);
  EXPECT_EQ(d.label_files_without_image, 2);
  EXPECT_EQ(d.images[0].id, 9);
  EXPECT_FALSE(d.coco_annotations.empty());
}

TEST(Dataset, MissingFolderAndYaml) {
  EXPECT_THROW(load_dataset("/nonexistent/dataset"), Error);
  const fs::path dir = test::temp_path("bad_dataset");
  fs::remove_all(dir);
  fs::create_directories(dir / "images");
  std::ofstream(dir / "data.yaml") << "names: [a, b\n";
  EXPECT_THROW(load_dataset(dir.string()), Error);
  std::ofstream(dir / "data.yaml") << "val: images\nnames: [a, b]\n";
  fs::create_directories(dir / "labels");
  std::ofstream(dir / "images" / "1.jpg") << "x";
  std::ofstream(dir / "labels" / "1.txt") << "0 0.5 0.5 0.1 0.1\n7 0.5 0.5 0.1 0.1\n";
  try {
    load_dataset(dir.string());
    ADD_FAILURE() << "bad class accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("1.txt' line 2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sparrow::yolo
