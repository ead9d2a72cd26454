// The sparrow-client subcommands; each registers itself on the app and runs when selected. All
// share the connection flags given on the top-level app.
#pragma once

namespace CLI {
class App;
}

namespace sparrow::client {

struct Connection;

void add_detect_command(CLI::App& app, const Connection& connection);
void add_benchmark_command(CLI::App& app, const Connection& connection);
void add_load_command(CLI::App& app, const Connection& connection);
void add_health_command(CLI::App& app, const Connection& connection);
void add_models_command(CLI::App& app, const Connection& connection);

}  // namespace sparrow::client
