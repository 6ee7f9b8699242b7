// The tplm command: each subcommand lives in src/app/<name>_command.cpp and registers in cli.cpp.
#include "app/cli.hpp"

int main(int argc, char** argv) {
  return tplm::run_cli(argc, argv);
}
