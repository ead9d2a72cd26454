// sparrow-client models: the models the server serves, as a table.
#include <grpcpp/client_context.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "commands.h"
#include "connection.h"
#include "rpc_error.h"
#include "sparrow/v1/detection.grpc.pb.h"

namespace sparrow::client {
namespace {

template <typename Numbers>
std::string join(const Numbers& numbers, const char* separator) {
  std::string s;
  for (const auto n : numbers) {
    if (!s.empty()) s += separator;
    s += std::to_string(n);
  }
  return s;
}

void print_table(const std::vector<v1::ModelInfo>& models) {
  std::printf("%-20s %-16s %-14s %-8s %-6s %s\n", "NAME", "INPUT SHAPE", "BATCH SIZES", "CLASSES", "READY", "ENGINE");
  for (const v1::ModelInfo& m : models) {
    const std::string engine = std::to_string(m.engine().num_cores()) + " cores, " + m.engine().isa();
    std::printf("%-20s %-16s %-14s %-8d %-6s %s\n", m.name().c_str(), join(m.input_shape(), "x").c_str(),
                join(m.batch_sizes(), ",").c_str(), m.class_names_size(), m.ready() ? "yes" : "no", engine.c_str());
  }
}

// All models, or only --model's (NOT_FOUND if the server has no such model).
void run(const Connection& connection) {
  auto stub = v1::Detection::NewStub(connection.channel());
  grpc::ClientContext context;
  connection.set_deadline(context, kDefaultTimeoutSeconds);
  std::vector<v1::ModelInfo> models;
  if (connection.model.empty()) {
    v1::ListModelsResponse response;
    check(stub->ListModels(&context, v1::ListModelsRequest(), &response), "list models of " + connection.server);
    models.assign(response.models().begin(), response.models().end());
  } else {
    v1::GetModelRequest request;
    request.set_name(connection.model);
    check(stub->GetModel(&context, request, &models.emplace_back()), "model '" + connection.model + "'");
  }
  print_table(models);
  if (models.empty()) std::fprintf(stderr, "sparrow-client: the server lists no models (still loading? see `health`)\n");
}

}  // namespace

void add_models_command(CLI::App& app, const Connection& connection) {
  CLI::App* cmd = app.add_subcommand("models", "List the server's models (only --model's, if given)");
  cmd->callback([&connection] { run(connection); });
}

}  // namespace sparrow::client
