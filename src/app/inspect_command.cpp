#include "app/cli.hpp"
#include "format/error.hpp"

namespace tplm {

// Placeholder until this command lands.
CommandAction add_inspect_command(CLI::App& app) {
  app.add_subcommand("inspect", "(not built yet)");
  return [] () -> int { throw Error("tplm inspect is not built yet"); };
}

}  // namespace tplm
