// sparrow-client: detect, benchmark, load-test and health-check a sparrow-server over gRPC.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "commands.h"
#include "connection.h"
#include "rpc_error.h"
#include "sparrow/error.h"

int main(int argc, char** argv) {
  CLI::App app{"sparrow-client: command-line client for sparrow-server", "sparrow-client"};
  app.require_subcommand(1);
  // The connection flags may come before or after the subcommand.
  app.fallthrough();
  sparrow::client::Connection connection;
  connection.add_to(app);
  sparrow::client::add_detect_command(app, connection);
  sparrow::client::add_benchmark_command(app, connection);
  sparrow::client::add_load_command(app, connection);
  sparrow::client::add_health_command(app, connection);
  sparrow::client::add_models_command(app, connection);
  for (CLI::App* cmd : app.get_subcommands({})) {
    cmd->footer("Connection flags (--server, --model, --timeout, --tls, --ca, --cert, --key): see sparrow-client --help");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const sparrow::client::RpcError& e) {
    std::fprintf(stderr, "sparrow-client: %s\n", e.what());
    return 1;
  } catch (const sparrow::Error& e) {
    std::fprintf(stderr, "sparrow-client: %s: %s\n", sparrow::error_code_name(e.code()), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sparrow-client: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
