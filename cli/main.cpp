// sparrow: compile, run, describe and benchmark ONNX models from the command line.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "commands.h"
#include "sparrow/error.h"

namespace {

// CLI11 reports a mistyped command as a missing one ("A subcommand is required"); this names it
// and lists the commands instead. Empty when the first argument is an option or a command.
std::string unknown_command_error(const CLI::App& app, int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return {};
  std::string commands;
  for (const CLI::App* command : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (command->check_name(argv[1])) return {};
    commands += (commands.empty() ? "" : ", ") + command->get_name();
  }
  return std::string("unknown command '") + argv[1] + "'; the commands are " + commands;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Sparrow: sparse-aware CPU inference for YOLOv5 ONNX models", "sparrow"};
  app.require_subcommand(1);
  sparrow::cli::add_benchmark_command(app);
  sparrow::cli::add_run_command(app);
  sparrow::cli::add_describe_command(app);
  sparrow::cli::add_detect_command(app);
  sparrow::cli::add_eval_command(app);
  sparrow::cli::add_compress_command(app);
  if (const std::string error = unknown_command_error(app, argc, argv); !error.empty()) {
    std::fprintf(stderr, "sparrow: %s (sparrow --help)\n", error.c_str());
    return 2;
  }
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
