#include "app/cli.hpp"
#include "format/error.hpp"

namespace tplm {

// Placeholder until this command lands.
CommandAction add_bench_command(CLI::App& app) {
  app.add_subcommand("bench", "(not built yet)");
  return [] () -> int { throw Error("tplm bench is not built yet"); };
}

}  // namespace tplm
