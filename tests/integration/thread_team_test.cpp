// How runs use threads: num_cores bounds them, a run on one thread (what runs fall back to while
// the cores are contended) gives exactly the whole team's answer, and parallel_for covers every
// item and passes on exceptions.
#include <gtest/gtest.h>

#include <dirent.h>

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <thread>

#include "onnx/onnx_importer.h"
#include "passes/passes.h"
#include "runtime/plan.h"
#include "sparrow/engine.h"
#include "support/onnx_builder.h"
#include "support/test_support.h"

namespace sparrow {
namespace {

const std::string kStatic = test::shared_path("models/yolov5n.onnx");

int threads_in_process() {
  int n = 0;
  DIR* dir = opendir("/proc/self/task");
  while (dirent* entry = readdir(dir)) n += entry->d_name[0] != '.';
  closedir(dir);
  return n;
}

// Threads the process gained while a fresh thread ran the engine once (libgomp keeps a pool per
// thread that starts a parallel region, so the pool's size shows the team a run used).
int threads_added_by_a_run(const Engine& engine) {
  const Tensor x = test::random_tensor({1, 3, 640, 640}, 3, 0, 1);
  int added = -1;
  std::thread([&] {
    const int before = threads_in_process();
    engine.run({x});
    added = threads_in_process() - before;
  }).join();
  return added;
}

TEST(ThreadTeam, NumCoresBoundsTheThreadsOfARun) {
  if (!test::require_file(kStatic)) GTEST_SKIP();
  // Every run on the whole team: other tests running beside this one would make the first run
  // start on one thread (runtime/team_sizer.h).
  const test::ScopedEnv whole_team("SPARROW_ADAPTIVE_THREADS", "0");
  CompileOptions o;
  o.num_cores = 1;
  EXPECT_EQ(threads_added_by_a_run(Engine::load(kStatic, o)), 0);
  o.num_cores = 3;
  EXPECT_EQ(threads_added_by_a_run(Engine::load(kStatic, o)), 2);
}

TEST(ThreadTeam, OneThreadGivesTheWholeTeamsAnswer) {
  if (!test::require_file(kStatic)) GTEST_SKIP();
  CompileOptions o;
  o.num_cores = 2;
  graph::Graph g = onnx_import::import_model_file(kStatic);
  passes::optimize(g, o);
  const std::shared_ptr<Plan> plan = runtime::compile_plan(std::move(g), o);
  const Tensor x = test::random_tensor({1, 3, 640, 640}, 7, 0, 1);
  std::vector<Tensor> team, single;
  plan->run({x}, team, 2);
  plan->run({x}, single, 1);
  ASSERT_EQ(team[0].bytes(), single[0].bytes());
  EXPECT_EQ(std::memcmp(team[0].data(), single[0].data(), team[0].bytes()), 0);
}

TEST(ThreadTeam, ParallelForCoversEveryItemAndRethrows) {
  if (!test::require_file(kStatic)) GTEST_SKIP();
  CompileOptions o;
  o.num_cores = 2;
  const Engine engine = Engine::load(kStatic, o);
  std::vector<std::atomic<int>> calls(37);
  engine.parallel_for(calls.size(), [&](size_t i) { calls[i]++; });
  for (size_t i = 0; i < calls.size(); ++i) EXPECT_EQ(calls[i], 1) << i;
  std::atomic<int> ran{0};
  EXPECT_THROW(engine.parallel_for(8,
                                   [&](size_t i) {
                                     ran++;
                                     if (i == 3) throw std::runtime_error("item 3");
                                   }),
               std::runtime_error);
  EXPECT_EQ(ran, 8) << "the other items still run";
}

}  // namespace
}  // namespace sparrow
