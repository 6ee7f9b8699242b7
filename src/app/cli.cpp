#include "app/cli.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <vector>

#include "base/error.hpp"

namespace tplm {

int run_cli(int argc, char** argv) {
  CLI::App app{"tplm: one language model split across ranks by tensor parallelism"};
  app.require_subcommand(1);
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
  add(add_inspect_command);
  add(add_run_command);
  add(add_bench_command);
  add(add_plan_command);
  add(add_tokenize_command);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& c : commands)
      if (c.sub->parsed()) return c.action();
  } catch (const Error& e) {
    std::fprintf(stderr, "tplm: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "tplm: error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tplm: internal error: %s\n", e.what());
    return 2;
  }
  return 1;
}

}  // namespace tplm
