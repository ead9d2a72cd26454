// The kernel choices file (runtime/kernel_choices.h): the compiler records which row won each
// contested layer, follows the file on the next compile instead of timing, times again where the
// recorded row no longer accepts, and rejects a file it cannot read.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include <unistd.h>

#include "sparrow/engine.h"
#include "sparrow/error.h"
#include "support/onnx_builder.h"

namespace sparrow {
namespace {

// One 3x3 conv, 64 -> 64 channels at 20x20, with 90 % of its weights zero: a sparse FP32 row and
// oneDNN's dense row both accept it, so the compiler times them.
std::string sparse_conv(uint32_t seed) {
  std::mt19937 rng(seed);
  std::bernoulli_distribution keep(0.1);
  std::uniform_real_distribution<float> value(-1, 1);
  std::vector<float> w(64 * 64 * 9);
  for (float& v : w) v = keep(rng) ? value(rng) : 0.0f;
  test::OnnxBuilder b;
  b.input("x", DType::kFloat32, {1, 64, 20, 20});
  b.initializer("w", Tensor::from_vector<float>({64, 64, 3, 3}, w));
  b.node("Conv", {"x", "w"}, {"y"}, {test::Attr::Ints("kernel_shape", {3, 3}), test::Attr::Ints("pads", {1, 1, 1, 1})});
  b.output("y");
  return b.bytes();
}

std::string conv_kernel(const std::string& model, const std::string& choices) {
  CompileOptions o;
  o.kernel_choices = choices;
  for (const LayerInfo& l : Engine::load_from_bytes(model, o).describe().layers) {
    if (l.op.rfind("Conv", 0) == 0) return l.kernel;
  }
  return "no conv";
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::trunc) << text; }

// The file's one choice line, or "" when there is none.
std::string choice_line(const std::string& path) {
  std::istringstream lines(read(path));
  std::string line, found;
  while (std::getline(lines, line)) {
    if (!line.empty() && line[0] != '#') found = line;
  }
  return found;
}

class KernelChoicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "kernel_choices_" + std::to_string(::getpid()) + ".txt";
    std::remove(path_.c_str());
  }
  void TearDown() override { std::remove(path_.c_str()); }
  // The row the first compile chose and recorded; "" where nothing was contested.
  std::string first_choice(const std::string& model) {
    const std::string kernel = conv_kernel(model, path_);
    const std::string line = choice_line(path_);
    if (line.empty()) return "";  // no sparse row accepts the conv on this ISA: nothing was timed
    std::istringstream fields(line);
    std::string key, row;
    fields >> key >> row;
    EXPECT_EQ(kernel.rfind(row, 0), 0u) << kernel << " ran, the file says " << row;
    return row;
  }
  std::string path_;
};

TEST_F(KernelChoicesTest, TheFileIsFollowedInsteadOfTiming) {
  const std::string model = sparse_conv(1);
  const std::string row = first_choice(model);
  if (row.empty()) GTEST_SKIP() << "no sparse row accepts the conv on this ISA: nothing to choose between";
  // The other contestant, written in the winner's place, is what the next compile runs.
  CompileOptions sparse_only;
  sparse_only.kernels = "sparse-conv-f32-*";
  std::string sparse_row;
  for (const LayerInfo& l : Engine::load_from_bytes(model, sparse_only).describe().layers) {
    if (l.op.rfind("Conv", 0) == 0) sparse_row = l.kernel.substr(0, l.kernel.find(':'));
  }
  const std::string other = row == "f32-conv-onednn" ? sparse_row : "f32-conv-onednn";
  std::string text = read(path_);
  text.replace(text.find(" " + row + " "), row.size() + 2, " " + other + " ");
  write(path_, text);
  EXPECT_EQ(conv_kernel(model, path_).rfind(other, 0), 0u) << conv_kernel(model, path_);
}

TEST_F(KernelChoicesTest, ARowThatNoLongerAcceptsIsTimedAgain) {
  const std::string model = sparse_conv(2);
  const std::string row = first_choice(model);
  if (row.empty()) GTEST_SKIP() << "no sparse row accepts the conv on this ISA: nothing to choose between";
  std::string text = read(path_);
  text.replace(text.find(" " + row + " "), row.size() + 2, " no-such-row ");
  write(path_, text);
  EXPECT_EQ(conv_kernel(model, path_).rfind("no-such-row", 0), std::string::npos);
  EXPECT_EQ(choice_line(path_).find("no-such-row"), std::string::npos) << "the new choice replaces it";
}

TEST_F(KernelChoicesTest, OtherWeightsAreAnotherLayer) {
  if (first_choice(sparse_conv(3)).empty()) GTEST_SKIP() << "no sparse row accepts the conv on this ISA";
  conv_kernel(sparse_conv(4), path_);
  int lines = 0;
  std::istringstream in(read(path_));
  for (std::string line; std::getline(in, line);) lines += !line.empty() && line[0] != '#';
  EXPECT_EQ(lines, 2);
}

TEST_F(KernelChoicesTest, AnUnreadableLineIsAnErrorNamingIt) {
  write(path_, "# a comment\n0123456789abcdef f32-conv-onednn node 'a'\nnot-a-key f32-conv-onednn\n");
  try {
    conv_kernel(sparse_conv(5), path_);
    FAIL() << "a bad line was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find(path_ + ", line 3"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace sparrow
