// sparrow: compile, run, describe and benchmark ONNX models from the command line.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "commands.h"
#include "sparrow/error.h"

int main(int argc, char** argv) {
  CLI::App app{"Sparrow: sparse-aware CPU inference for YOLOv5 ONNX models", "sparrow"};
  app.require_subcommand(1);
  sparrow::cli::add_benchmark_command(app);
  sparrow::cli::add_run_command(app);
  sparrow::cli::add_describe_command(app);
  sparrow::cli::add_detect_command(app);
  sparrow::cli::add_eval_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const sparrow::Error& e) {
    std::fprintf(stderr, "sparrow: %s: %s\n", sparrow::error_code_name(e.code()), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sparrow: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
