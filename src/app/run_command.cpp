#include "app/cli.hpp"
#include "format/error.hpp"

namespace tplm {

// Placeholder until this command lands.
CommandAction add_run_command(CLI::App& app) {
  app.add_subcommand("run", "(not built yet)");
  return [] () -> int { throw Error("tplm run is not built yet"); };
}

}  // namespace tplm
