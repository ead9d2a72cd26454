// The `sparrow` subcommands; each registers itself on the app and runs when selected.
#pragma once

namespace CLI {
class App;
}

namespace sparrow::cli {

void add_benchmark_command(CLI::App& app);
void add_run_command(CLI::App& app);
void add_describe_command(CLI::App& app);
void add_detect_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_compress_command(CLI::App& app);

}  // namespace sparrow::cli
