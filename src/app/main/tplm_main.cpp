// The tplm command: every subcommand lives in app/commands and registers here.
#include "app/cli.hpp"

int main(int argc, char** argv) {
  return tplm::run_cli(argc, argv);
}
