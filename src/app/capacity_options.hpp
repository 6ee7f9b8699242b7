#pragma once
// The options that size a run, shared by `run` and `plan`: -c/--ctx-size,
// --kv-type f16|f32|q8_0, --mem-budget SIZE and --split RATIOS|auto. Their
// values are checked before the model is opened (UsageError).
#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "format/kv_type.hpp"

namespace tplm {

struct CapacityArgs {
  int64_t context = 0;  // 0: min(the model's context length, 4096)
  std::optional<KvType> kv_type;
  std::string mem_budget;  // "" = detected
  std::string split;       // "" = equal shares; "auto"; "3,1"
};

void add_capacity_options(CLI::App* cmd, CapacityArgs& args);

// The checked values: bytes of --mem-budget (0 when absent) and the --split
// ratios (empty for equal shares; "auto" gives equal shares where the
// ranks' budgets are equal, which they are on one host).
uint64_t mem_budget_bytes(const CapacityArgs& args);
std::vector<double> split_ratios(const CapacityArgs& args);

}  // namespace tplm
