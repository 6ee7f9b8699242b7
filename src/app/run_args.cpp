#include "app/run_args.hpp"

#include <fmt/format.h>

#include "app/cli.hpp"
#include "app/cli_values.hpp"
#include "app/device_options.hpp"

namespace tplm {

void add_model_options(CLI::App* cmd, std::string& model, std::string& tokenizer) {
  cmd->add_option("-m,--model", model, "model: .gguf, llama2.c .bin, or Hugging Face folder")
      ->required();
  cmd->add_option("--tokenizer", tokenizer,
                  "tokenizer file (llama2.c tok*.bin, tokenizer.json, tokenizer.model)");
}

void add_model_options(CLI::App* cmd, RunArgs& a) {
  add_model_options(cmd, a.opt.model, a.opt.tokenizer);
}

void add_generation_options(CLI::App* cmd, RunArgs& a) {
  RunOptions& opt = a.opt;
  cmd->add_option("-n,--n-predict,--predict,--max-new-tokens", opt.max_new_tokens,
                  "most tokens to generate (-1 = until a stop or the context is full)")
      ->capture_default_str();
  cmd->add_option("--stop,-r,--reverse-prompt", opt.stop,
                  "stop when the completion's text contains this string (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--temp", opt.sampling.temperature, "temperature (0 = greedy)")
      ->capture_default_str();
  cmd->add_option("--top-k", opt.sampling.top_k, "sample among the k most likely (0 = all)")
      ->capture_default_str();
  cmd->add_option("--top-p", opt.sampling.top_p, "nucleus sampling mass (1 = all)")
      ->capture_default_str();
  cmd->add_option("-s,--seed", a.seed, "random seed of the sampler (-1 = a random seed)")
      ->type_name("INT")
      ->capture_default_str();
  cmd->add_option("-l,--logit-bias", a.logit_bias,
                  "TOKEN_ID+BIAS or TOKEN_ID-BIAS added to the token's logit; 0-inf bans "
                  "token 0 (repeatable)")
      ->type_name("TOKEN_ID(+|-)BIAS")
      ->allow_extra_args(false);
  cmd->add_option("--tp", a.tp,
                  "tensor-parallel ranks (threads in this process), or auto: the fastest "
                  "predicted that fits the cores or GPUs present")
      ->capture_default_str();
  cmd->add_option("-t,--threads", opt.threads, "kernel threads per rank (default: cores / ranks)");
  opt.timeout_seconds = 60.0;
  cmd->add_option("--comm-timeout", opt.timeout_seconds,
                  "seconds a collective may wait for a peer before the run fails")
      ->capture_default_str();
  add_capacity_options(cmd, a.capacity);
  add_device_options(cmd, opt.backend, opt.gpus);
}

void prepare_generation_options(RunArgs& a, const CLI::App& cmd) {
  require_at_least(cmd, "--threads", a.opt.threads, 1,
                   fmt::format("use 1 to {} (or leave it out for cores / ranks)", kMaxThreads));
  require_at_least(cmd, "--context", a.capacity.context, 1,
                   "use 1 or more positions (or leave it out for the model's context length, at "
                   "most 4096)");
  a.opt.max_context = a.capacity.context;
  a.opt.kv_type = a.capacity.kv_type;
  a.opt.mem_budget = mem_budget_bytes(a.capacity);
  a.opt.split = split_ratios(a.capacity);
  a.opt.split_auto = a.capacity.split == "auto";
  for (const std::string& b : a.logit_bias)
    a.opt.sampling.logit_bias.push_back(parse_logit_bias(b));
  a.opt.sampling.seed = seed_from_option(a.seed);
  const int tp = parse_tp_option(a.tp);
  a.opt.tp_auto = tp == kTpAuto;
  a.opt.tp = a.opt.tp_auto ? 1 : tp;
  check_run_options(a.opt);
}

}  // namespace tplm
