#include "app/device_options.hpp"

#include <string>

namespace tplm {

void add_device_options(CLI::App* cmd, BackendKind& backend, std::vector<int>& gpus) {
  cmd->add_option_function<std::string>(
         "--device",
         [&backend](const std::string& name) {
           backend = backend_kind_from_name(name).value_or(BackendKind::Cpu);
         },
         "where the ranks run: cpu (default) or cuda (one GPU per rank, NCCL between them; "
         "with one GPU, every rank on it)")
      ->check(CLI::IsMember({"cpu", "cuda"}));
  cmd->add_option("--gpus", gpus, "the GPUs to use, e.g. 0,1 (default: every visible GPU)")
      ->delimiter(',')
      ->check(CLI::NonNegativeNumber);
}

}  // namespace tplm
