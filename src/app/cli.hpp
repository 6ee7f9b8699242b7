#pragma once
// The `tplm` command line (CLI11). Each subcommand is one file in app/ with an
// add_*_command function; run_cli wires them, runs the chosen one, and turns a
// tplm::Error into its message and exit code 1 (never an abort).
#include <CLI/CLI.hpp>
#include <functional>

namespace tplm {

// A subcommand's action; returns the process exit code.
using CommandAction = std::function<int()>;

// Each adds its subcommand to app and returns the action to run when chosen.
CommandAction add_inspect_command(CLI::App& app);
CommandAction add_run_command(CLI::App& app);
CommandAction add_bench_command(CLI::App& app);
CommandAction add_plan_command(CLI::App& app);
CommandAction add_tokenize_command(CLI::App& app);

int run_cli(int argc, char** argv);

}  // namespace tplm
