// Runtime behaviour on the real model: dynamic exports, batching, concurrent runs, benchmark.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "sparrow/benchmark.h"
#include "sparrow/engine.h"
#include "support/onnx_builder.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

const std::string kStatic = test::shared_path("models/yolov5n.onnx");
const std::string kDynamic = test::shared_path("models/yolov5n-dynamic.onnx");

// The dynamic export (shape subgraphs folded at compile time) computes what the static one does,
// at batch 1 and batch 3.
TEST(EngineRuntime, DynamicExportMatchesStatic) {
  if (!test::require_file(kStatic) || !test::require_file(kDynamic)) GTEST_SKIP();
  for (int64_t batch : {1, 3}) {
    CompileOptions o;
    o.batch_size = batch;
    o.height = o.width = 640;
    const Engine dynamic = Engine::load(kDynamic, o);
    const Engine fixed = Engine::load(kStatic, o);
    EXPECT_EQ(dynamic.inputs()[0].shape, (Shape{batch, 3, 640, 640}));
    const Tensor x = test::random_tensor({batch, 3, 640, 640}, 11, 0, 1);
    EXPECT_TRUE(test::all_close(dynamic.run({x})[0], fixed.run({x})[0], 1e-5, 1e-5)) << "batch " << batch;
  }
}

// The dynamic export compiles at another image size; the grid follows the size.
TEST(EngineRuntime, DynamicExportAtOtherImageSize) {
  if (!test::require_file(kDynamic)) GTEST_SKIP();
  CompileOptions o;
  o.height = o.width = 320;
  const Engine e = Engine::load(kDynamic, o);
  EXPECT_EQ(e.outputs()[0].shape, (Shape{1, 6300, 85}));
}

// Batch items are independent: item i of a batch equals a batch-1 run on the same image.
TEST(EngineRuntime, BatchItemsMatchSingleRuns) {
  if (!test::require_file(kStatic)) GTEST_SKIP();
  CompileOptions one, four;
  four.batch_size = 4;
  const Engine single = Engine::load(kStatic, one);
  const Engine batched = Engine::load(kStatic, four);
  const Tensor x = test::random_tensor({4, 3, 640, 640}, 5, 0, 1);
  const Tensor out = batched.run({x})[0];
  const int64_t in_item = 3 * 640 * 640, out_item = 25200 * 85;
  for (int64_t i = 0; i < 4; ++i) {
    Tensor xi(DType::kFloat32, {1, 3, 640, 640});
    std::memcpy(xi.data(), x.data_as<float>() + i * in_item, in_item * sizeof(float));
    const Tensor yi = single.run({xi})[0];
    EXPECT_TRUE(test::all_close(out.data_as<float>() + i * out_item, yi.data_as<float>(), out_item, 1e-5, 1e-5)) << i;
  }
}

// run() from several threads at once gives each caller exactly its sequential answer.
TEST(EngineRuntime, ConcurrentRunsAreIndependent) {
  if (!test::require_file(kStatic)) GTEST_SKIP();
  CompileOptions o;
  o.num_cores = 2;
  const Engine engine = Engine::load(kStatic, o);
  constexpr int kThreads = 4;
  std::vector<Tensor> inputs, expected;
  for (int t = 0; t < kThreads; ++t) {
    inputs.push_back(test::random_tensor({1, 3, 640, 640}, 100 + t, 0, 1));
    expected.push_back(engine.run({inputs.back()})[0]);
  }
  std::vector<std::thread> threads;
  std::vector<int> mismatches(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<Tensor> outputs;
      for (int k = 0; k < 3; ++k) {
        engine.run({inputs[t]}, outputs);
        if (std::memcmp(outputs[0].data(), expected[t].data(), expected[t].bytes()) != 0) ++mismatches[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

TEST(EngineRuntime, BenchmarkStatisticsAreConsistent) {
  if (!test::require_file(kStatic)) GTEST_SKIP();
  const Engine engine = Engine::load(kStatic, {});
  BenchmarkOptions o;
  o.seconds = 1.0;
  o.warmup_seconds = 0.2;
  const BenchmarkResult r = run_benchmark(engine, o);
  ASSERT_GT(r.iterations, 0);
  EXPECT_EQ(r.scenario, "sync");
  EXPECT_LE(r.p50, r.p90);
  EXPECT_LE(r.p90, r.p99);
  EXPECT_LE(r.p99, r.p99_9);
  EXPECT_NEAR(r.items_per_second, r.batch_size * 1000.0 / r.ms_per_batch, 1e-6 * r.items_per_second);
  // One stream: wall time per batch is the batch time plus loop overhead.
  EXPECT_NEAR(r.ms_per_batch, r.batch_times_mean, 0.05 * r.ms_per_batch);

  o.scenario = Scenario::kAsync;
  o.num_streams = 2;
  const BenchmarkResult a = run_benchmark(engine, o);
  EXPECT_EQ(a.num_streams, 2);
  EXPECT_GT(a.iterations, 0);
  EXPECT_EQ(a.scenario, "async");
}

// Other work runs between batches with every stream stopped, and its time is left out of the
// results. A day's worth of iterations stops at `seconds`.
TEST(EngineRuntime, BenchmarkPausesForOtherWorkAndLeavesItOut) {
  if (!test::require_file(kStatic)) GTEST_SKIP();
  const Engine engine = Engine::load(kStatic, {});
  for (int streams : {1, 2}) {
    BenchmarkOptions o;
    o.seconds = 1.0;
    o.warmup_seconds = 0;
    o.iterations = int64_t{1} << 40;
    o.num_streams = streams;
    o.scenario = streams > 1 ? Scenario::kAsync : Scenario::kSync;
    std::atomic<int> asked{0}, paused{0};
    // The first ask already finds work waiting, so a slow machine that fits few batches in a
    // second still pauses.
    o.other_work_waiting = [&] { return ++asked % 4 == 1; };
    o.do_other_work = [&] {
      ++paused;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    };
    const BenchmarkResult r = run_benchmark(engine, o);
    ASSERT_GT(r.iterations, 0);
    EXPECT_LT(r.iterations, o.iterations);
    EXPECT_GT(paused, 0) << streams << " stream(s)";
    EXPECT_GE(r.seconds_paused, 0.05 * paused);
    // With one stream the wall time is the batches' time, as if the pauses (50 ms every fourth
    // batch, about as long as two batches) were not there. Two streams overlap by an amount the
    // machine decides, so they are only checked to pause and end.
    if (streams == 1) {
      EXPECT_NEAR(r.ms_per_batch, r.batch_times_mean, 0.1 * r.batch_times_mean);
    }
  }
}

TEST(EngineRuntime, BenchmarkRejectsBadOptions) {
  if (!test::require_file(kStatic)) GTEST_SKIP();
  const Engine engine = Engine::load(kStatic, {});
  BenchmarkOptions o;
  o.seconds = 0;
  EXPECT_THROW(run_benchmark(engine, o), Error);
  o.seconds = 1;
  o.num_streams = 3;  // sync runs one stream
  EXPECT_THROW(run_benchmark(engine, o), Error);
}

TEST(EngineRuntime, DescribeListsKernelsAndLayouts) {
  if (!test::require_file(kStatic)) GTEST_SKIP();
  const PlanDescription d = Engine::load(kStatic, {}).describe();
  int convs = 0, heads = 0;
  for (const LayerInfo& l : d.layers) {
    EXPECT_FALSE(l.kernel.empty()) << l.name;
    EXPECT_FALSE(l.layout.empty()) << l.name;
    if (l.op.rfind("Conv", 0) == 0) {
      ++convs;
      // The Detect convs carry their decode (passes/fuse_conv_segmented).
      const bool head = l.op.find("+SegmentedElementwise") != std::string::npos;
      heads += head;
      EXPECT_EQ(l.kernel.rfind(head ? "f32-conv-segmented-onednn:" : "f32-conv-onednn:", 0), 0u) << l.name << " ran on " << l.kernel;
      EXPECT_GT(l.gflop, 0) << l.name;
    }
  }
  EXPECT_EQ(convs, 60);
  EXPECT_EQ(heads, 3);
  EXPECT_GT(d.arena_bytes, 0u);
}

TEST(EngineRuntime, ExposesModelMetadata) {
  if (!test::require_file(kStatic)) GTEST_SKIP();
  const Engine e = Engine::load(kStatic, {});
  ASSERT_TRUE(e.metadata().count("names"));
  EXPECT_NE(e.metadata().at("names").find("person"), std::string::npos);
  EXPECT_EQ(e.metadata().at("stride"), "32");
}

}  // namespace
}  // namespace sparrow
