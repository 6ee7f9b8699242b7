#pragma once
// The `tplm` command line (CLI11). Each subcommand is one file in app/ with an
// add_*_command function; run_cli wires them, runs the chosen one, and turns
// every error into its message and exit code (never an abort):
//   0  success (and --help, --version)
//   2  usage: the command line is wrong by itself (unknown command or option,
//      a value that does not parse or is out of its range, -p with -f); found
//      before any file is opened
//   1  runtime: the command could not be carried out (a file missing, unreadable
//      or corrupt, a tp or context this model cannot take, a peer that died)
// With --json anywhere on the command line the error is one JSON object on
// stdout: {"error": {"type": "usage" | "runtime", "message": ..., "exit_code": 2 | 1}}.
#include <CLI/CLI.hpp>
#include <functional>

namespace tplm {

constexpr int kExitRuntime = 1;
constexpr int kExitUsage = 2;

// A subcommand's action; returns the process exit code.
using CommandAction = std::function<int()>;

// Each adds its subcommand to app and returns the action to run when chosen.
CommandAction add_inspect_command(CLI::App& app);
CommandAction add_run_command(CLI::App& app);
CommandAction add_chat_command(CLI::App& app);
CommandAction add_bench_command(CLI::App& app);
CommandAction add_plan_command(CLI::App& app);
CommandAction add_tokenize_command(CLI::App& app);
CommandAction add_serve_command(CLI::App& app);

// Throws UsageError when an option the user gave is below `least` (for
// options whose default, 0, means "automatic" and may not be written).
void require_at_least(const CLI::App& cmd, const std::string& option, int64_t value, int64_t least,
                      const std::string& hint);

int run_cli(int argc, char** argv);

}  // namespace tplm
