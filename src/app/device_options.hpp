#pragma once
// --device cpu|cuda and --gpus 0,1,... for the commands that place ranks.
#include <CLI/CLI.hpp>
#include <vector>

#include "backend/backend.hpp"

namespace tplm {

void add_device_options(CLI::App* cmd, BackendKind& backend, std::vector<int>& gpus);

}  // namespace tplm
