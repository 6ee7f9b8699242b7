#include "app/cli.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.hpp"
#include "runtime/usage_error.hpp"

#ifndef TPLM_VERSION
#define TPLM_VERSION "unknown"
#endif

namespace tplm {

namespace {

// How an error reaches the user: text on stderr, or with --json one object on
// stdout (so that a script reading stdout always gets JSON).
struct ErrorPrinter {
  bool json = false;

  int operator()(int code, const std::string& message, const std::string& hint = {}) const {
    const char* type = code == kExitUsage ? "usage" : "runtime";
    if (json) {
      const nlohmann::json j = {
          {"error", {{"type", type}, {"message", message}, {"exit_code", code}}}};
      std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
      std::fflush(stdout);
    } else {
      std::fprintf(stderr, "tplm: error: %s\n", message.c_str());
      if (!hint.empty()) std::fprintf(stderr, "%s\n", hint.c_str());
    }
    return code;
  }
};

// --json anywhere before a "--" asks for JSON errors, even when the command
// line does not parse.
bool wants_json(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--") return false;
    if (a == "--json") return true;
  }
  return false;
}

std::string command_list(const CLI::App& app) {
  std::string names;
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (!names.empty()) names += ", ";
    names += sub->get_name();
  }
  return names;
}

}  // namespace

void require_at_least(const CLI::App& cmd, const std::string& option, int64_t value, int64_t least,
                      const std::string& hint) {
  if (cmd.count(option) > 0 && value < least)
    throw UsageError(fmt::format("{} {} is out of range; {}", option, value, hint));
}

int run_cli(int argc, char** argv) {
  const ErrorPrinter fail{wants_json(argc, argv)};
  CLI::App app{"tplm: one language model split across ranks by tensor parallelism"};
  app.set_version_flag("--version", std::string("tplm ") + TPLM_VERSION);
  struct Entry {
    CLI::App* sub;
    CommandAction action;
  };
  std::vector<Entry> commands;
  auto add = [&](CommandAction (*adder)(CLI::App&)) {
    size_t before = app.get_subcommands({}).size();
    CommandAction action = adder(app);
    auto subs = app.get_subcommands({});
    if (subs.size() > before) commands.push_back({subs.back(), std::move(action)});
  };
  add(add_run_command);
  add(add_plan_command);
  add(add_inspect_command);
  add(add_bench_command);
  add(add_tokenize_command);
  add(add_serve_command);
  add(add_chat_command);

  const std::string commands_hint =
      fmt::format("the commands are: {} (tplm COMMAND --help for its options)", command_list(app));
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    const CLI::App* chosen = nullptr;
    for (const auto& c : commands)
      if (c.sub->parsed()) chosen = c.sub;
    if (!chosen) {
      if (argc > 1 && argv[1][0] != '-')
        return fail(kExitUsage, fmt::format("unknown command '{}'; {}", argv[1], commands_hint));
      if (argc == 1) return fail(kExitUsage, "no command given; " + commands_hint);
      return fail(kExitUsage, e.what(), "tplm: " + commands_hint);
    }
    return fail(kExitUsage, e.what(),
                fmt::format("(tplm {} --help lists its options)", chosen->get_name()));
  }
  try {
    for (auto& c : commands)
      if (c.sub->parsed()) return c.action();
    return fail(kExitUsage, "no command given; " + commands_hint);
  } catch (const UsageError& e) {
    return fail(kExitUsage, e.what());
  } catch (const Error& e) {
    return fail(kExitRuntime, e.what());
  } catch (const std::bad_alloc&) {
    return fail(kExitRuntime, "out of memory");
  } catch (const std::exception& e) {
    return fail(kExitRuntime, fmt::format("internal error: {}", e.what()));
  }
}

}  // namespace tplm
