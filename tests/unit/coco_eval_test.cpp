// COCO bbox evaluation against pycocotools: golden numbers computed by COCOeval on two datasets,
// small cases whose answer is known by hand, and the json loaders' errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "sparrow/error.h"
#include "sparrow/yolo/coco_eval.h"
#include "support/test_support.h"
#include "yolo/coco_numpy.h"
#include "yolo/coco_params.h"

namespace sparrow::yolo {
namespace {

using test::expect_error;
using test::temp_path;
using test::write_file;

constexpr double kTolerance = 1e-6;

// The keys of expected.json's "stats", in COCOeval.stats order.
const std::array<const char*, 12> kStatNames = {"AP",  "AP50", "AP75",  "APsmall", "APmedium", "APlarge",
                                                "AR1", "AR10", "AR100", "ARsmall", "ARmedium", "ARlarge"};

nlohmann::json read_json(const std::string& path) {
  std::ifstream f(path);
  return nlohmann::json::parse(f);
}

// Compares every stat and per-category AP with expected.json; returns the largest difference.
double expect_matches_golden(const CocoEvalResult& r, const nlohmann::json& expected) {
  double worst = 0;
  for (std::size_t i = 0; i < kStatNames.size(); ++i) {
    const double want = expected.at("stats").at(kStatNames[i]).get<double>();
    EXPECT_NEAR(r.stats[i], want, kTolerance) << kStatNames[i];
    worst = std::max(worst, std::abs(r.stats[i] - want));
  }
  if (expected.contains("per_category_AP")) {
    EXPECT_EQ(r.per_category_ap.size(), expected.at("per_category_AP").size());
    for (const auto& [key, value] : expected.at("per_category_AP").items()) {
      const auto it = r.per_category_ap.find(std::stoll(key));
      if (it == r.per_category_ap.end()) {
        ADD_FAILURE() << "no AP for category " << key;
        continue;
      }
      EXPECT_NEAR(it->second, value.get<double>(), kTolerance) << "category " << key;
      worst = std::max(worst, std::abs(it->second - value.get<double>()));
    }
  }
  if (expected.contains("summarize")) {
    EXPECT_EQ(format_coco_summary(r), expected.at("summarize").get<std::string>());
  }
  return worst;
}

TEST(CocoEvalGolden, PadillaVal2014FakeBbox100) {
  const std::string dir = test::shared_path("data/coco_eval_golden/padilla_val2014_fakebbox100/");
  if (!test::require_file(dir + "expected.json")) GTEST_SKIP() << "no " << dir;
  const CocoEvalResult r = evaluate_coco(load_coco_ground_truth(dir + "gt_sampled_gts_bbox_area.json"),
                                         load_coco_detections(dir + "dets_fakebbox100_results.json"));
  const double worst = expect_matches_golden(r, read_json(dir + "expected.json"));
  std::printf("padilla_val2014_fakebbox100: max |difference| from pycocotools %.3g\n", worst);
}

TEST(CocoEvalGolden, Coco128SyntheticDetections) {
  const std::string dir = test::shared_path("data/coco_eval_golden/coco128_synthetic_dets/");
  const std::string gt = test::shared_path("data/coco128/annotations/instances_train2017.json");
  if (!test::require_file(dir + "expected.json") || !test::require_file(gt)) GTEST_SKIP() << "no " << dir;
  const nlohmann::json expected = read_json(dir + "expected.json");
  const std::vector<CocoDetection> dets = load_coco_detections(dir + "dets.json");
  EXPECT_EQ(static_cast<int64_t>(dets.size()), expected.at("n_dets").get<int64_t>());
  const double worst = expect_matches_golden(evaluate_coco(load_coco_ground_truth(gt), dets), expected);
  std::printf("coco128_synthetic_dets: max |difference| from pycocotools %.3g\n", worst);
}

// np.linspace's values, printed by numpy 1.24: 0.9 is not among them.
TEST(CocoEvalParams, ThresholdsAreNumpyLinspace) {
  const CocoParams& p = coco_default_params();
  const std::vector<double> iou = {0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.8999999999999999, 0.95};
  EXPECT_EQ(p.iou_thresholds, iou);
  ASSERT_EQ(p.recall_thresholds.size(), 101u);
  EXPECT_EQ(p.recall_thresholds[3], 3 * 0.01);
  EXPECT_EQ(p.recall_thresholds[100], 1.0);
}

std::vector<double> mean_test_values(int n) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(((i * 7919) % 1000) / 997.0);
  return v;
}

// Values printed by numpy 1.24's np.mean. Adding left to right gives ...632 for the first; a
// single pairwise sum over all 30011 values (no 8192-element buffer chunks) misses the second.
TEST(CocoEvalParams, MeanIsNumpysSummation) {
  EXPECT_EQ(numpy_mean(mean_test_values(300)), 0.5020060180541625);
  EXPECT_EQ(numpy_mean(mean_test_values(30011)), 0.5010046968067575);
}

// Two images, two categories, objects of every size; id 3 is a category without ground truth.
CocoGroundTruth small_ground_truth() {
  CocoGroundTruth gt;
  gt.images = {{1, 640, 480, "a.jpg"}, {2, 640, 480, "b.jpg"}};
  gt.categories = {{1, "person"}, {2, "car"}, {3, "boat"}};
  gt.annotations = {
      {1, 1, 1, {10, 10, 20, 20}, 400, false},      // small
      {2, 1, 1, {100, 100, 50, 60}, 3000, false},   // medium
      {3, 1, 2, {200, 50, 200, 150}, 30000, false}, // large
      {4, 2, 1, {300, 300, 120, 100}, 12000, false},
      {5, 2, 2, {5, 5, 30, 25}, 750, false},
  };
  return gt;
}

std::vector<CocoDetection> perfect_detections(const CocoGroundTruth& gt) {
  std::vector<CocoDetection> dets;
  for (const CocoAnnotation& a : gt.annotations) dets.push_back({a.image_id, a.category_id, a.bbox, 0.9});
  return dets;
}

TEST(CocoEval, PerfectDetectionsScoreOne) {
  const CocoGroundTruth gt = small_ground_truth();
  const CocoEvalResult r = evaluate_coco(gt, perfect_detections(gt));
  for (std::size_t i = 0; i < r.stats.size(); ++i) {
    if (i != kAR1) {
      EXPECT_DOUBLE_EQ(r.stats[i], 1.0) << kStatNames[i];
    }
  }
  // One detection per image finds 2 of the 3 persons and both cars.
  EXPECT_DOUBLE_EQ(r.stats[kAR1], (2.0 / 3.0 + 1.0) / 2.0);
  EXPECT_DOUBLE_EQ(r.per_category_ap.at(1), 1.0);
  EXPECT_DOUBLE_EQ(r.per_category_ap.at(2), 1.0);
  EXPECT_EQ(r.per_category_ap.at(3), -1.0);  // no ground truth
}

TEST(CocoEval, MaxDetsLimitsRecall) {
  CocoGroundTruth gt = small_ground_truth();
  gt.annotations.resize(2);  // image 1: two persons
  const CocoEvalResult r = evaluate_coco(gt, perfect_detections(gt));
  EXPECT_DOUBLE_EQ(r.stats[kAR1], 0.5);
  EXPECT_DOUBLE_EQ(r.stats[kAR10], 1.0);
  EXPECT_EQ(r.stats[kAPLarge], -1.0);  // no large object in any category
}

TEST(CocoEval, NoDetectionsGiveZeroWhereThereIsGroundTruth) {
  const CocoEvalResult r = evaluate_coco(small_ground_truth(), {});
  for (std::size_t i = 0; i < r.stats.size(); ++i) EXPECT_EQ(r.stats[i], 0.0) << kStatNames[i];
  EXPECT_EQ(r.per_category_ap.at(1), 0.0);
  EXPECT_EQ(r.per_category_ap.at(3), -1.0);
}

TEST(CocoEval, DetectionOfCategoryWithoutGroundTruthChangesNothing) {
  const CocoGroundTruth gt = small_ground_truth();
  std::vector<CocoDetection> dets = perfect_detections(gt);
  dets.push_back({1, 3, {10, 10, 20, 20}, 0.99});   // a category with no ground truth
  dets.push_back({1, 77, {10, 10, 20, 20}, 0.99});  // a category the dataset does not have
  const CocoEvalResult r = evaluate_coco(gt, dets);
  EXPECT_DOUBLE_EQ(r.stats[kAP], 1.0);
  EXPECT_EQ(r.per_category_ap.at(3), -1.0);
  EXPECT_EQ(r.per_category_ap.count(77), 0u);
}

TEST(CocoEval, FalsePositiveAboveTruePositiveLowersPrecision) {
  const CocoGroundTruth gt = small_ground_truth();
  std::vector<CocoDetection> dets = perfect_detections(gt);
  dets.push_back({2, 2, {400, 400, 100, 50}, 0.95});  // nothing there, beats the car's 0.9
  const CocoEvalResult r = evaluate_coco(gt, dets);
  // Car: FP then two TPs; precision at full recall is 2/3 for every recall threshold past 0.
  EXPECT_NEAR(r.per_category_ap.at(2), 2.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(r.per_category_ap.at(1), 1.0);
}

// A crowd region absorbs detections inside it: they count neither for nor against.
TEST(CocoEval, DetectionInsideCrowdIsNeitherTrueNorFalsePositive) {
  CocoGroundTruth gt = small_ground_truth();
  gt.annotations.push_back({6, 2, 2, {400, 300, 200, 150}, 30000, true});
  std::vector<CocoDetection> dets = perfect_detections(gt);
  dets.pop_back();  // no detection "of" the crowd itself
  dets.push_back({2, 2, {450, 320, 60, 40}, 0.95});
  dets.push_back({2, 2, {500, 350, 40, 40}, 0.97});
  const CocoEvalResult with_crowd = evaluate_coco(gt, dets);
  EXPECT_DOUBLE_EQ(with_crowd.per_category_ap.at(2), 1.0);
  EXPECT_DOUBLE_EQ(with_crowd.stats[kAP], 1.0);

  gt.annotations.back().iscrowd = false;  // now an ordinary object the small boxes barely overlap
  const CocoEvalResult without = evaluate_coco(gt, dets);
  EXPECT_LT(without.per_category_ap.at(2), 1.0);
}

// pycocotools marks "unmatched" with gt id 0, so matching a gt whose id is 0 counts as a miss.
TEST(CocoEval, GroundTruthIdZeroKeepsPycocotoolsQuirk) {
  CocoGroundTruth gt = small_ground_truth();
  gt.annotations[2].id = 0;  // the only large car
  const CocoEvalResult r = evaluate_coco(gt, perfect_detections(gt));
  EXPECT_EQ(r.stats[kARLarge], 0.5);  // the person in image 2 is still found
}

TEST(CocoEval, DetectionOnUnknownImageIsAnError) {
  const CocoGroundTruth gt = small_ground_truth();
  std::vector<CocoDetection> dets = perfect_detections(gt);
  dets.push_back({42, 1, {0, 0, 10, 10}, 0.5});
  try {
    evaluate_coco(gt, dets);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("image_id 42"), std::string::npos) << e.what();
  }
}

TEST(CocoEval, SummaryLinesMatchPycocotoolsFormat) {
  CocoEvalResult r;
  r.stats.fill(-1);
  r.stats[kAP] = 0.50364;
  const std::string s = format_coco_summary(r);
  EXPECT_EQ(s.substr(0, s.find('\n') + 1),
            " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.504\n");
  EXPECT_NE(s.find(" Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = -1.000\n"),
            std::string::npos);
  EXPECT_NE(s.find(" Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ] = -1.000\n"),
            std::string::npos);
}

TEST(CocoJson, DetectionsRoundTrip) {
  const std::vector<CocoDetection> dets = {{1, 2, {0.1, 2.25, 1e-3, 640}, 0.123456789}, {7, 90, {1, 2, 3, 4}, 1}};
  const std::string path = temp_path("roundtrip.json");
  write_coco_detections(path, dets);
  const std::vector<CocoDetection> back = load_coco_detections(path);
  ASSERT_EQ(back.size(), dets.size());
  for (std::size_t i = 0; i < dets.size(); ++i) {
    EXPECT_EQ(back[i].image_id, dets[i].image_id);
    EXPECT_EQ(back[i].category_id, dets[i].category_id);
    EXPECT_EQ(back[i].bbox, dets[i].bbox);
    EXPECT_EQ(back[i].score, dets[i].score);
  }
}

TEST(CocoJson, MissingFile) {
  expect_error([] { load_coco_ground_truth("/nonexistent/instances.json"); }, ErrorCode::kNotFound,
               {"/nonexistent/instances.json", "does not exist"});
  expect_error([] { load_coco_detections("/nonexistent/dets.json"); }, ErrorCode::kNotFound, {"/nonexistent/dets.json"});
}

TEST(CocoJson, MalformedJson) {
  const std::string path = temp_path("malformed.json");
  write_file(path, "[{\"image_id\": 1, \"category_id\": 2,");
  expect_error([&] { load_coco_detections(path); }, ErrorCode::kInvalidArgument, {path, "malformed json"});
  expect_error([&] { load_coco_ground_truth(path); }, ErrorCode::kInvalidArgument, {path, "malformed json"});
}

TEST(CocoJson, DetectionMissingBbox) {
  const std::string path = temp_path("no_bbox.json");
  write_file(path, R"([{"image_id": 1, "category_id": 2, "bbox": [1, 2, 3, 4], "score": 0.5},
                       {"image_id": 1, "category_id": 2, "score": 0.5}])");
  expect_error([&] { load_coco_detections(path); }, ErrorCode::kInvalidArgument, {path, "detections[1]", "\"bbox\""});
}

TEST(CocoJson, BadFieldsNameEntryAndField) {
  const std::string path = temp_path("bad_gt.json");
  write_file(path, R"({"images": [{"id": 1}], "categories": [{"id": 1, "name": "person"}],
                       "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "area": 12},
                                       {"id": 2, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3]}]})");
  expect_error([&] { load_coco_ground_truth(path); }, ErrorCode::kInvalidArgument, {path, "annotations[1]", "\"bbox\""});
  write_file(path, R"({"images": [{"id": "one"}], "categories": [], "annotations": []})");
  expect_error([&] { load_coco_ground_truth(path); }, ErrorCode::kInvalidArgument, {"images[0]", "\"id\"", "integer"});
  write_file(path, R"({"images": [], "categories": []})");
  expect_error([&] { load_coco_ground_truth(path); }, ErrorCode::kInvalidArgument, {"\"annotations\""});
}

TEST(CocoJson, GroundTruthOptionalFields) {
  const std::string path = temp_path("minimal_gt.json");
  write_file(path, R"({"images": [{"id": 5}], "categories": [{"id": 1}],
                       "annotations": [{"id": 1.0, "image_id": 5, "category_id": 1, "bbox": [1, 2, 3, 4], "area": 12}]})");
  const CocoGroundTruth gt = load_coco_ground_truth(path);
  ASSERT_EQ(gt.annotations.size(), 1u);
  EXPECT_EQ(gt.annotations[0].id, 1);
  EXPECT_FALSE(gt.annotations[0].iscrowd);
  EXPECT_EQ(gt.images[0].file_name, "");
}

}  // namespace
}  // namespace sparrow::yolo
