#pragma once
// The options `tplm run` and `tplm chat` share, as llama.cpp spells them: the
// model and tokenizer, how much to generate and where to stop, sampling, the
// split, the device, -v. Each command adds its own (run: -p, -f, --json;
// chat: --system) around them.
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "app/capacity_options.hpp"
#include "runtime/run_options.hpp"

namespace tplm {

// What the command line holds before it becomes RunOptions.
struct RunArgs {
  RunOptions opt;
  CapacityArgs capacity;    // -c, --kv-type, --mem-budget, --split
  std::string prompt_file;  // run -f
  std::string seed = "42";
  std::string tp = "1";  // a number, or auto (run)
  std::vector<std::string> logit_bias;
  bool json = false;  // run --json
  bool verbose = false;
};

// -m and --tokenizer (serve keeps them outside RunArgs).
void add_model_options(CLI::App* cmd, std::string& model, std::string& tokenizer);
void add_model_options(CLI::App* cmd, RunArgs& a);
// -n (its default: a.opt.max_new_tokens as set), --stop, --temp, --top-k,
// --top-p, -s, -l, --tp, -t, --comm-timeout, -c, --kv-type, --mem-budget, --split, --device/--gpus,
// -v.
void add_generation_options(CLI::App* cmd, RunArgs& a);
// Their checks before any file is opened (UsageError: exit 2); the seed and
// the logit bias parsed into a.opt.
void prepare_generation_options(RunArgs& a, const CLI::App& cmd);

}  // namespace tplm
