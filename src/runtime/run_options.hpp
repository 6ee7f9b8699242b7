#pragma once
// What `tplm run` and `tplm bench` ask of the engine, and the checks of those
// options that need no file (check_run_options: before anything is opened).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "runtime/sampler.hpp"

namespace tplm {

// The most kernel threads one rank may ask for.
constexpr int kMaxThreads = 1024;

struct RunOptions {
  std::string model;      // file or folder
  std::string tokenizer;  // "" = the model's own (GGUF vocab, HF folder) or none
  std::string prompt;
  bool parse_special = false;    // special tokens written in the prompt are tokens ("<s>")
  int64_t max_new_tokens = 256;  // < 0: no limit (until a stop token, a stop string or the context)
  std::vector<std::string> stop;  // stop strings
  SamplerOptions sampling;
  int tp = 1;
  bool tp_auto = false;      // --tp auto: the fastest predicted tp that fits (tp is ignored)
  bool speed_advice = true;  // tp > 1: measure and warn when tp 1 is predicted faster
  int threads = 0;           // kernel threads per rank; 0 = cores / ranks (at least 1)
  int64_t max_context = 0;   // KV cache positions; 0 = the model's context length
  double timeout_seconds = 300.0;
  bool show_progress = true;
  BackendKind backend = BackendKind::Cpu;  // --device
  std::vector<int> gpus;                   // --gpus (cuda); empty = every visible GPU
};

struct EngineOptions;
// What of them the engine takes.
EngineOptions engine_options(const RunOptions& options);

// Throws UsageError for what no model can take: tp, threads, context or
// timeout out of range, -n below -1, bad sampling options, an empty stop
// string. What depends on the model (tp it can split, context, token ids)
// is checked once it is open, before anything is loaded.
void check_run_options(const RunOptions& options);

// The ranks of a world of `world` that run on this host: all of them for
// thread ranks; under mpirun, the ones mpirun placed here.
int ranks_on_this_host(int world);
int host_cores();
// This host's cores divided among the ranks on it, at least 1 (threads > 0 is
// kept as given).
int threads_per_rank(int threads, int world);
// A warning when the threads asked for (more than the default) times the
// ranks on this host are more than its cores.
std::optional<std::string> threads_warning(int threads, int world);

}  // namespace tplm
