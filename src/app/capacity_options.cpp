#include "app/capacity_options.hpp"

#include <fmt/format.h>

#include <cmath>
#include <sstream>

#include "runtime/capacity.hpp"
#include "runtime/usage_error.hpp"

namespace tplm {

void add_capacity_options(CLI::App* cmd, CapacityArgs& args) {
  cmd->add_option("-c,--ctx-size,--context", args.context,
                  "KV cache positions (default: the model's context length, at most 4096; more "
                  "than the model's is allowed, with a warning)");
  cmd->add_option_function<std::string>(
         "--kv-type", [&args](const std::string& name) { args.kv_type = kv_type_from_name(name); },
         "how the KV cache stores K and V: f16 (default on cpu), f32 (the only one on cuda), "
         "q8_0")
      ->check(CLI::IsMember({"f16", "f32", "q8_0"}));
  cmd->add_option("--mem-budget", args.mem_budget,
                  "memory of each host (GPU) for this run, e.g. 512M, 2G, 1.5GiB (default: the "
                  "host's MemAvailable, the GPU's free memory)");
  cmd->add_option("--split", args.split,
                  "ratios of the split, one per rank, e.g. 3,1 (default: equal shares); auto: "
                  "from the ranks' memory budgets");
}

uint64_t mem_budget_bytes(const CapacityArgs& args) {
  return args.mem_budget.empty() ? 0 : parse_memory_size(args.mem_budget);
}

std::vector<double> split_ratios(const CapacityArgs& args) {
  if (args.split.empty() || args.split == "auto") return {};
  std::vector<double> ratios;
  std::stringstream in(args.split);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || !(v > 0) || !std::isfinite(v))
      throw UsageError(fmt::format(
          "--split {}: '{}' is not a ratio; give one number above 0 per rank, e.g. --split 3,1, "
          "or --split auto",
          args.split, item));
    ratios.push_back(v);
  }
  if (ratios.empty() || args.split.back() == ',')
    throw UsageError(fmt::format(
        "--split {}: give one number above 0 per rank, e.g. --split 3,1, or --split auto",
        args.split));
  return ratios;
}

}  // namespace tplm
