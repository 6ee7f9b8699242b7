#include "app/cli.hpp"
#include "format/error.hpp"

namespace tplm {

// Placeholder until this command lands.
CommandAction add_plan_command(CLI::App& app) {
  app.add_subcommand("plan", "(not built yet)");
  return [] () -> int { throw Error("tplm plan is not built yet"); };
}

}  // namespace tplm
