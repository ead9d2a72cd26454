// Finding images in folders and the shared folder's defaults (sparrow/yolo/image_files.h,
// sparrow/yolo/default_files.h), used alike by sparrow, sparrow-server and sparrow-client, and
// the checks on files Sparrow writes (sparrow/output_file.h).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "sparrow/error.h"
#include "sparrow/output_file.h"
#include "sparrow/yolo/default_files.h"
#include "sparrow/yolo/image_files.h"
#include "support/test_support.h"

namespace sparrow::yolo {
namespace {
namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("sparrow-files-" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  fs::path touch(const std::string& relative) const {
    const fs::path p = path_ / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << "x";
    return p;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};


TEST(ImageFiles, ExtensionsInAnyCase) {
  for (const char* name : {"a.jpg", "b.JPEG", "c.png", "d.Bmp", "e.webp", "f.tif", "g.TIFF", "dir/h.jpg"}) {
    EXPECT_TRUE(has_image_extension(name)) << name;
  }
  for (const char* name : {"a.txt", "b", "c.jpg.txt", ".jpgx", "labels/x.json"}) EXPECT_FALSE(has_image_extension(name)) << name;
}

TEST(ImageFiles, FoldersGiveTheirImagesSortedFilesStayAsGiven) {
  TempDir tmp;
  tmp.touch("imgs/b.jpg");
  tmp.touch("imgs/a.PNG");
  tmp.touch("imgs/notes.txt");
  tmp.touch("imgs/sub/c.jpg");  // not recursive, as sparrow detect documents
  const std::string odd = tmp.touch("odd.name").string();
  const std::string folder = (tmp.path() / "imgs").string();
  const std::vector<std::string> files = image_files({odd, folder});
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0], odd);  // a named file is taken whatever its extension; decoding judges it
  EXPECT_EQ(fs::path(files[1]).filename(), "a.PNG");
  EXPECT_EQ(fs::path(files[2]).filename(), "b.jpg");
}

TEST(ImageFiles, MissingPathIsPassedOnForTheReaderToReport) {
  EXPECT_EQ(image_files({"/no/such/file.jpg"}), std::vector<std::string>{"/no/such/file.jpg"});
}

TEST(DefaultFiles, SharedDirFromTheEnvironment) {
  TempDir tmp;
  const fs::path bus = tmp.touch("data/images/bus.jpg");
  test::ScopedEnv env("SPARROW_SHARED_DIR", tmp.path().string());
  EXPECT_EQ(find_shared_file("data/images/bus.jpg"), bus.string());
  EXPECT_EQ(find_shared_file("data/images/none.jpg"), "");
}

TEST(DefaultFiles, ModelFromTheEnvironmentWins) {
  test::ScopedEnv env("SPARROW_MODEL", "/models/custom.onnx");
  EXPECT_EQ(default_model_path(), "/models/custom.onnx");
}

TEST(DefaultFiles, NoModelAnywhereSaysHowToPassOne) {
  TempDir tmp;  // a shared folder without models/
  test::ScopedEnv shared("SPARROW_SHARED_DIR", tmp.path().string());
  test::ScopedEnv model("SPARROW_MODEL", "");
  test::expect_error([] { default_model_path(); }, ErrorCode::kNotFound,
                     {"no model given", "../shared/models/yolov5n.onnx", "SPARROW_MODEL"});
}

}  // namespace
}  // namespace sparrow::yolo

namespace sparrow {
namespace {

std::string write_error_of(const std::string& path) {
  try {
    check_writable(path);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo) << e.what();
    return e.what();
  }
  return "";
}

TEST(OutputFile, SaysWhyAPathCannotBeWritten) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("sparrow-out-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "file") << "x";
  const std::string base = dir.string();
  EXPECT_EQ(write_error_of(base + "/new.onnx"), "");
  EXPECT_EQ(write_error_of(base + "/file"), "") << "an existing file is overwritten";
  EXPECT_EQ(write_error_of(base + "/missing/new.onnx"),
            "cannot write '" + base + "/missing/new.onnx': no folder '" + base + "/missing'");
  EXPECT_EQ(write_error_of(base), "cannot write '" + base + "': it is a folder");
  EXPECT_EQ(write_error_of(base + "/file/new.onnx"), "cannot write '" + base + "/file/new.onnx': '" + base + "/file' is not a folder");
  EXPECT_THROW(check_writable(""), Error);
  std::filesystem::remove_all(dir);
}

TEST(OutputFile, WritesTheTextOrSaysWhyNot) {
  const std::string path = test::temp_path("output_file.txt");
  write_text_file(path, "first\n");
  write_text_file(path, "second\n");
  std::ifstream in(path);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "second\n") << "the file is replaced, not appended to";
  try {
    write_text_file(path + ".missing/x.json", "{}");
    FAIL() << "a write into a missing folder succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_EQ(std::string(e.what()), "cannot write '" + path + ".missing/x.json': No such file or directory");
  }
}

TEST(OutputFile, MakesTheOutputFolderOrSaysWhyNot) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("sparrow-folder-" + std::to_string(::getpid()));
  const std::string base = dir.string();
  make_output_folder(base + "/a/b");
  EXPECT_TRUE(std::filesystem::is_directory(dir / "a" / "b")) << "parents are created too";
  make_output_folder(base + "/a/b");  // exists already: fine
  std::ofstream(dir / "file") << "x";
  const auto error_of = [](const std::string& path) {
    try {
      make_output_folder(path);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kIo) << e.what();
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(error_of(base + "/file"), "cannot create output folder '" + base + "/file': a file of that name is in the way");
  EXPECT_EQ(error_of(base + "/file/sub"), "cannot create output folder '" + base + "/file/sub': Not a directory");
  std::filesystem::remove_all(dir);
}

TEST(OutputFile, AFailedWriteGivesErrnosReason) {
  errno = ENOSPC;
  const Error e = write_failed("out.json");
  EXPECT_EQ(e.code(), ErrorCode::kIo);
  EXPECT_STREQ(e.what(), "cannot write 'out.json': No space left on device");
}

}  // namespace
}  // namespace sparrow
